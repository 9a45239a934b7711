//! What dates printed outside the Latin, Greek and Cyrillic scripts need before the shared
//! patterns can read them: native digits (Arabic-Indic, Persian, Devanagari, Bengali) as
//! ASCII digits, Gregorian month names in Arabic (Egyptian and Levantine) and Bengali, and the
//! Persian (Jalali, Solar Hijri) calendar's months with the exact conversion of its dates to
//! Gregorian ("2 تیر 1399" is 2020-06-22). Nothing is guessed: a converted date is the same
//! day the page prints, in another calendar.

use std::borrow::Cow;

use chrono::NaiveDate;

/// First code point of each run of ten native digits read as `0`–`9`.
const DIGIT_ZEROS: [u32; 4] = [
    0x0660, // Arabic-Indic
    0x06F0, // Extended Arabic-Indic (Persian, Urdu)
    0x0966, // Devanagari
    0x09E6, // Bengali
];

/// The ASCII digit a native digit stands for.
fn native_digit(c: char) -> Option<char> {
    let cp = u32::from(c);
    DIGIT_ZEROS
        .iter()
        .find(|&&z| (z..z + 10).contains(&cp))
        .and_then(|&z| char::from_digit(cp - z, 10))
}

/// Whether `text` may hold a native digit: a cheap byte test for the UTF-8 lead bytes of the
/// blocks in [`DIGIT_ZEROS`], so ASCII and most other text are never decoded.
fn may_hold_native_digits(text: &str) -> bool {
    text.bytes().any(|b| matches!(b, 0xD9 | 0xDB | 0xE0))
}

/// Whether `text` holds a digit, ASCII or native.
pub fn has_digit(text: &str) -> bool {
    text.bytes().any(|b| b.is_ascii_digit())
        || (may_hold_native_digits(text) && text.chars().any(|c| native_digit(c).is_some()))
}

/// `text` with native digits replaced by ASCII ones (borrowed when there are none).
pub fn ascii_digits(text: &str) -> Cow<'_, str> {
    if !may_hold_native_digits(text) || !text.chars().any(|c| native_digit(c).is_some()) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().map(|c| native_digit(c).unwrap_or(c)).collect())
}

/// Gregorian month names in Arabic (the Egyptian forms and the Levantine ones of one word;
/// written without hamza and diacritics, see [`fold_arabic`]) and Bengali, January first.
const MONTHS: [&[&str]; 12] = [
    &["يناير", "جانفي", "জানুয়ারি"],
    &["فبراير", "شباط", "فيفري", "ফেব্রুয়ারি"],
    &["مارس", "اذار", "মার্চ"],
    &["ابريل", "نيسان", "افريل", "এপ্রিল"],
    &["مايو", "ايار", "ماي"],
    &["يونيو", "يونيه", "حزيران", "جوان", "জুন"],
    &["يوليو", "يوليه", "تموز", "جويليه", "জুলাই"],
    &["اغسطس", "اوت", "আগস্ট"],
    &["سبتمبر", "ايلول", "সেপ্টেম্বর"],
    &["اكتوبر", "অক্টোবর"],
    &["نوفمبر", "নভেম্বর"],
    &["ديسمبر", "ডিসেম্বর"],
];

/// The Persian calendar's months, Farvardin first (Persian letters, see [`fold_arabic`]).
const PERSIAN_MONTHS: [&str; 12] = [
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "ابان",
    "اذر",
    "دی",
    "بهمن",
    "اسفند",
];

/// One spelling for the variants Arabic-script pages mix: alef with hamza or madda as bare
/// alef, Arabic yeh and alef maksura as Persian yeh (for Persian names), Arabic kaf as
/// Persian keheh, diacritics and tatweel dropped; Bengali `য়` precomposed or not alike.
fn fold_arabic(name: &str, persian: bool) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            'أ' | 'إ' | 'آ' | 'ٱ' => out.push('ا'),
            'ي' | 'ى' if persian => out.push('ی'),
            'ى' | 'ی' if !persian => out.push('ي'),
            'ك' if persian => out.push('ک'),
            '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}' => {}
            '\u{09DF}' => out.push_str("\u{09AF}\u{09BC}"),
            c => out.push(c),
        }
    }
    out
}

/// Gregorian month number (1–12) of an Arabic or Bengali month name.
pub fn month_number(name: &str) -> Option<u32> {
    if name.is_ascii() {
        return None;
    }
    let folded = fold_arabic(name, false);
    MONTHS
        .iter()
        .position(|names| names.contains(&folded.as_str()))
        .and_then(|i| u32::try_from(i + 1).ok())
}

/// Month number (1–12) in the Persian calendar of a Persian month name.
pub fn persian_month(name: &str) -> Option<u32> {
    if name.is_ascii() {
        return None;
    }
    let folded = fold_arabic(name, true);
    PERSIAN_MONTHS
        .iter()
        .position(|m| *m == folded)
        .and_then(|i| u32::try_from(i + 1).ok())
}

/// Earliest and latest Persian years read (1995–2121 in Gregorian years).
const PERSIAN_YEARS: std::ops::RangeInclusive<i32> = 1373..=1500;

/// The Gregorian date of day `day` of month `month` of Persian year `year`, by the 33-year
/// arithmetic rule of the Solar Hijri calendar (it matches the official calendar over the
/// years read here). `None` outside [`PERSIAN_YEARS`] or for a day the month does not have.
pub fn jalali_to_gregorian(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    let month_len = if month <= 6 { 31 } else { 30 };
    if !PERSIAN_YEARS.contains(&year)
        || !(1..=12).contains(&month)
        || !(1..=month_len).contains(&day)
    {
        return None;
    }
    let (m, d) = (i64::from(month), i64::from(day));
    let jy = i64::from(year) + 1595;
    let before_month = if m < 7 {
        (m - 1) * 31
    } else {
        (m - 7) * 30 + 186
    };
    // Days since 0000-01-01 of the proleptic Gregorian calendar (day 0).
    let days = -355_668 + 365 * jy + (jy / 33) * 8 + ((jy % 33) + 3) / 4 + d + before_month;
    // chrono counts 0001-01-01 as day 1; year 0 is a leap year of 366 days.
    let from_ce = i32::try_from(days - 366 + 1).ok()?;
    let date = NaiveDate::from_num_days_from_ce_opt(from_ce)?;
    // Esfand 30 exists in leap years only: the day after Esfand 29 must be Farvardin 1.
    (month != 12 || day < 30 || jalali_to_gregorian(year + 1, 1, 1) == date.succ_opt())
        .then_some(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    #[test]
    fn persian_dates_convert_exactly() {
        assert_eq!(jalali_to_gregorian(1399, 4, 2), ymd(2020, 6, 22));
        assert_eq!(jalali_to_gregorian(1399, 1, 1), ymd(2020, 3, 20));
        assert_eq!(jalali_to_gregorian(1400, 1, 1), ymd(2021, 3, 21));
        assert_eq!(jalali_to_gregorian(1403, 12, 30), ymd(2025, 3, 20));
        assert_eq!(jalali_to_gregorian(1402, 12, 29), ymd(2024, 3, 19));
        // 1402 is not a leap year: no Esfand 30; Mehr has 30 days.
        assert_eq!(jalali_to_gregorian(1402, 12, 30), None);
        assert_eq!(jalali_to_gregorian(1402, 7, 31), None);
        assert_eq!(jalali_to_gregorian(1200, 1, 1), None);
    }

    #[test]
    fn native_digits_read_as_ascii() {
        assert_eq!(ascii_digits("۲ تير ۱۳۹۹"), "2 تير 1399");
        assert_eq!(ascii_digits("١٢:٠٩"), "12:09");
        assert_eq!(ascii_digits("১৬ ফেব্রুয়ারি ২০২০"), "16 ফেব্রুয়ারি 2020");
        assert!(matches!(ascii_digits("May 5, 2020"), Cow::Borrowed(_)));
        assert!(has_digit("২০২০") && has_digit("2020") && !has_digit("تير"));
    }

    #[test]
    fn month_names_in_arabic_persian_and_bengali() {
        assert_eq!(month_number("أكتوبر"), Some(10));
        assert_eq!(month_number("نيسان"), Some(4));
        assert_eq!(month_number("أيّار"), Some(5));
        assert_eq!(month_number("ফেব্রুয়ারি"), Some(2));
        assert_eq!(month_number("October"), None);
        assert_eq!(persian_month("تير"), Some(4));
        assert_eq!(persian_month("اردیبهشت"), Some(2));
        assert_eq!(persian_month("آذر"), Some(9));
        assert_eq!(persian_month("آذار"), None);
    }
}

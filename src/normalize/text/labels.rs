//! Figure labels: the label a caption opens with ("Abbildung 8: …", "Figure 2. …", "Fig. 3:",
//! "Рис. 1.", "图 2：", "Beitragsbild: …") and the zoom button whose text a caption block
//! starts with ("Vergrößern …", "Click to enlarge …"). Shared by the extractor's line filter
//! (a caption line is not article text) and the page scan (a date in a caption dates a
//! picture, not the page).
//!
//! The structure is fixed, the words come from a table of the main languages: a label word,
//! then a figure number (`8`, `3a`, `2.1`), then `:` or `.`; a few words that only ever name a
//! figure may stand without a number before `:`. Photo and image credit words ("Foto:",
//! "Photo:", "Image:") are not labels here: a credit line names its outlet, and attribution
//! reads it.

use super::patterns::fold_case;

/// Label words that open a caption when a figure number and `:` or `.` follow ("Abbildung 8:",
/// "Table 2.", "Рис. 1."), lower case. A word alone before a number is no label: "Table 2
/// shows" is a sentence.
const NUMBERED: &[&str] = &[
    // English
    "figure",
    "fig.",
    "fig",
    "table",
    "chart",
    "graph",
    "diagram",
    "map",
    "exhibit",
    // German
    "abbildung",
    "abb.",
    "abb",
    "bild",
    "grafik",
    "tabelle",
    "karte",
    "schaubild",
    // French
    "tableau",
    "graphique",
    "carte",
    "schéma",
    // Spanish, Portuguese, Italian
    "figura",
    "tabla",
    "tabela",
    "gráfico",
    "grafico",
    "tabella",
    "mapa",
    "mappa",
    "imagen",
    "imagem",
    "immagine",
    // Dutch, Scandinavian, Finnish
    "afbeelding",
    "tabel",
    "figuur",
    "kaart",
    "figur",
    "tabell",
    "kuva",
    "kuvio",
    "taulukko",
    // Polish, Czech, Russian, Ukrainian
    "rysunek",
    "ryc.",
    "rys.",
    "wykres",
    "obrázek",
    "obr.",
    "tabulka",
    "рисунок",
    "рис.",
    "таблица",
    "схема",
    "малюнок",
    "таблиця",
    // Chinese, Japanese
    "图",
    "圖",
    "図",
    "表",
];

/// Label words that name a figure even without a number, when `:` follows ("Abbildung: …",
/// "Beitragsbild: …" — the post's featured image).
const UNNUMBERED: &[&str] = &[
    "abbildung",
    "abb.",
    "figure",
    "fig.",
    "figura",
    "afbeelding",
    "rysunek",
    "рисунок",
    "рис.",
    "beitragsbild",
    "titelbild",
    "featured image",
    "image à la une",
    "imagen destacada",
    "immagine in evidenza",
    "uitgelichte afbeelding",
];

/// Zoom-button texts a caption block starts with ("Vergrößern Der Neubau …").
const ZOOM: &[&str] = &[
    "vergrößern ",
    "bild vergrößern",
    "zum vergrößern",
    "click to enlarge",
    "enlarge this image",
    "enlarge image",
    "cliquez pour agrandir",
    "agrandir l'image",
    "clic para ampliar",
    "ampliar imagen",
    "clicca per ingrandire",
    "klik om te vergroten",
    "powiększ zdjęcie",
    "увеличить фото",
];

/// Longest prefix (characters) looked at: labels are short.
const MAX_LABEL_CHARS: usize = 40;

/// Whether `text` opens with a figure label or a zoom button (see the module doc).
pub fn opens_with_figure_label(text: &str) -> bool {
    let head: String = text.trim_start().chars().take(MAX_LABEL_CHARS).collect();
    let head = fold_case(&head);
    if ZOOM.iter().any(|z| head.starts_with(z)) {
        return true;
    }
    let colon = |rest: &str| rest.trim_start().starts_with([':', '：']);
    let unnumbered = UNNUMBERED.iter().any(|w| {
        head.strip_prefix(w)
            .is_some_and(|rest| colon(rest) && boundary(w, rest))
    });
    unnumbered
        || NUMBERED.iter().any(|w| {
            head.strip_prefix(w)
                .filter(|rest| boundary(w, rest))
                .and_then(figure_number)
                .is_some_and(|rest| rest.starts_with([':', '：', '.']))
        })
}

/// Whether the label word ends where `rest` starts: a word ending in a letter needs a
/// non-letter after it ("Figures" is no "Figure"), a CJK character or a period does not.
fn boundary(word: &str, rest: &str) -> bool {
    let ends_alpha = word
        .chars()
        .last()
        .is_some_and(|c| c.is_alphabetic() && !is_cjk(c));
    !ends_alpha || !rest.chars().next().is_some_and(char::is_alphanumeric)
}

fn is_cjk(c: char) -> bool {
    ('\u{3040}'..='\u{9fff}').contains(&c)
}

/// After optional spaces, a figure number (`8`, `3a`, `2.1`, `2-3`); returns the rest with
/// spaces after the number trimmed.
fn figure_number(rest: &str) -> Option<&str> {
    let rest = rest.trim_start();
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 3 {
        return None;
    }
    let mut tail = rest.get(digits..)?;
    // One letter (`3a`) or one more number after `.`/`-` (`2.1`, `2-3`).
    if let Some(t) = tail.strip_prefix(|c: char| c.is_ascii_lowercase()) {
        tail = t;
    } else if let Some(t) = tail.strip_prefix(['.', '-'])
        && t.starts_with(|c: char| c.is_ascii_digit())
    {
        tail = t.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    Some(tail.trim_start())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figure_labels_in_many_languages() {
        for text in [
            "Abbildung 8: Das Messgerät im Einsatz",
            "Abbildung: Vergleich auf dem Gletscher",
            "Beitragsbild: Der neue Bahnhof",
            "Vergrößern Der Neubau von Süden",
            "Figure 2. Results of the survey",
            "Fig. 3: The device",
            "Table 1: Prices",
            "Tableau 2 : les résultats",
            "Figura 4. Mapa de la región",
            "Rys. 2. Schemat",
            "Рис. 1. Схема сети",
            "图 2：系统结构",
            "Click to enlarge The new station",
            "Abb. 3a: Grundriss",
            "Grafik 2.1: Umsatz",
        ] {
            assert!(opens_with_figure_label(text), "{text}");
        }
    }

    #[test]
    fn sentences_and_credits_are_no_labels() {
        for text in [
            "Table 2 shows the results of the survey.",
            "Figures released on Monday show a rise.",
            "Foto: Anna Beispiel / dpa",
            "Photo: Reuters",
            "Image: Getty",
            "Bildung ist wichtig: das sagt die Ministerin.",
            "Karte: OpenStreetMap",
            "Mapa: 3 km de costa",
            "The figure 2: a guess",
            "Fig",
        ] {
            assert!(!opens_with_figure_label(text), "{text}");
        }
    }
}

//! The writer: `RawStore` appends records to the newest file of this store and rotates files.
//!
//! It only ever creates new files (`create_new`), so it can never append to a file made by
//! another process or an earlier `open`, and a crash can only tear the tail of the newest file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::http::{request_head, response_head, sanitize_headers};
use super::parse::{HINT_FIELD, HintJson, REQUEST_HEADERS_FIELD, REQUESTED_FIELD, SOURCE_FIELD};
use super::record::{WarcHeader, record_id, sha256_label, warc_date, write_member};
use super::{FILE_SUFFIX, RawStoreError};
use crate::model::{RawLocation, RawPage};
use crate::storage::{Remote, push_spool};

/// Default rotation size: a new file is started once the current one passes 1 GiB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 1024 * 1024 * 1024;

/// How many file names `start_file` tries before giving up (names only collide when several
/// stores of one process start files in the same second).
const NAME_ATTEMPTS: u32 = 10_000;

/// `conformsTo` of the `warcinfo` record.
const CONFORMS_TO: &str =
    "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/";

/// Appends WARC records under one raw folder; the only writer under `raw/`.
///
/// Writing is blocking file I/O: call it from a dedicated thread or `spawn_blocking`. A store is
/// `Send`; one store per process is the intended use (several work, each with its own files).
#[derive(Debug)]
pub struct RawStore {
    root: PathBuf,
    /// Sub-folder of `root` every file goes to (empty: none), part of each location.
    folder: PathBuf,
    max_file_bytes: u64,
    pid: u32,
    next_seq: u32,
    records: u64,
    current: Option<OpenFile>,
    /// With `raw_dir = "s3://…"`: `root` is this writer's spool, and every closed file is
    /// uploaded and then moved into the reader cache.
    upload: Option<Upload>,
}

/// Where closed files go when raw/ is on S3.
#[derive(Debug)]
struct Upload {
    remote: Remote,
    /// The local cache folder readers use (`config.storage.raw_dir`).
    cache: PathBuf,
}

/// The file records are appended to.
#[derive(Debug)]
struct OpenFile {
    path: PathBuf,
    rel: PathBuf,
    out: BufWriter<File>,
    /// Bytes written so far, counted as they leave the gzip encoders.
    len: u64,
    warcinfo_id: String,
    dir_synced: bool,
}

impl RawStore {
    /// Opens (creates) the raw folder. Writes nothing until the first record.
    ///
    /// # Errors
    /// [`RawStoreError::Create`] when the folder cannot be created.
    pub fn open(root: &Path) -> Result<Self, RawStoreError> {
        fs::create_dir_all(root).map_err(|source| RawStoreError::Create {
            path: root.to_owned(),
            source,
        })?;
        Ok(Self {
            root: root.to_owned(),
            folder: PathBuf::new(),
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            pid: std::process::id(),
            next_seq: 0,
            records: 0,
            current: None,
            upload: None,
        })
    }

    /// The folder it writes (on S3, this writer's spool).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Opens a raw store whose files go to S3: records are written to files in `spool` as
    /// usual, and each file, once closed, is uploaded whole and moved to `cache`. A file is
    /// closed at every [`RawStore::sync`], so a response is in the store before anything that
    /// points at it is committed. First checks that the bucket answers, then uploads what an
    /// earlier process of this writer left in the spool (a crash, a failed upload).
    ///
    /// # Errors
    /// [`RawStoreError::Create`] for the spool folder, [`RawStoreError::Remote`] when the
    /// bucket cannot be listed or a leftover file cannot be uploaded.
    pub fn open_s3(spool: &Path, cache: &Path, remote: Remote) -> Result<Self, RawStoreError> {
        let mut store = Self::open(spool)?;
        let remote_err = |source| RawStoreError::Remote {
            url: remote.url().to_string(),
            source: Box::new(source),
        };
        remote.check().map_err(remote_err)?;
        let n = push_spool(&remote, spool, cache, None).map_err(remote_err)?;
        if n > 0 {
            tracing::info!(files = n, store = %remote.url(), "uploaded raw files an earlier run left in the spool");
        }
        store.upload = Some(Upload {
            remote,
            cache: cache.to_owned(),
        });
        Ok(store)
    }

    /// Writes every file under `folder` (relative, e.g. `workers/<id>`): `root/folder/YYYY/MM/DD/…`,
    /// and on S3 under the same relative path in the bucket and the cache, so each location
    /// names the writer (a shared `reprocess` rebuilds a worker's records into its folder).
    #[must_use]
    pub fn in_folder(mut self, folder: &Path) -> Self {
        self.folder = folder.to_owned();
        self
    }

    /// Sets the rotation size in bytes (default [`DEFAULT_MAX_FILE_BYTES`]): once the current
    /// file has passed it, the next `write` starts a new file. A file can therefore exceed the
    /// size by one page's records.
    #[must_use]
    pub fn with_max_file_bytes(mut self, n: u64) -> Self {
        self.max_file_bytes = n;
        self
    }

    /// Appends a `request` and a `response` record for this page (and a `warcinfo` record first
    /// when a new file is started), flushes to the OS, and returns where the response record's
    /// gzip member sits. Not durable until [`RawStore::sync`].
    ///
    /// After a failed write the file may end in a partial record; the store then abandons it
    /// and the next `write` starts a new file, so the damage stays a torn tail.
    ///
    /// # Errors
    /// [`RawStoreError::Create`] when a new file or its day folder cannot be created,
    /// [`RawStoreError::Write`] when writing, flushing or (at rotation) syncing fails.
    pub fn write(&mut self, page: &RawPage) -> Result<RawLocation, RawStoreError> {
        if self
            .current
            .as_ref()
            .is_some_and(|f| f.len >= self.max_file_bytes)
        {
            self.close_current()?;
        }
        if self.current.is_none() {
            self.current = Some(self.start_file(Utc::now())?);
        }
        let result = self.append_page(page);
        if result.is_err() {
            self.current = None;
        }
        result
    }

    /// Flushes and fsyncs the current file (and, once per file, its folder, so the new name
    /// survives a power cut). Does nothing before the first write. On S3 it also closes the
    /// file and uploads it with every other closed file still in the spool: when this returns
    /// `Ok` every record written so far is in the store.
    ///
    /// # Errors
    /// [`RawStoreError::Write`] when flushing or syncing fails, [`RawStoreError::Remote`] when
    /// an upload fails (the file stays in the spool and is uploaded by the next `sync` or the
    /// next start).
    pub fn sync(&mut self) -> Result<(), RawStoreError> {
        self.sync_local()?;
        let Some(up) = &self.upload else {
            return Ok(());
        };
        self.current = None;
        push_spool(&up.remote, &self.root, &up.cache, None)
            .map(|_| ())
            .map_err(|source| RawStoreError::Remote {
                url: up.remote.url().to_string(),
                source: Box::new(source),
            })
    }

    fn sync_local(&mut self) -> Result<(), RawStoreError> {
        let Some(file) = self.current.as_mut() else {
            return Ok(());
        };
        file.out.flush().map_err(write_error(&file.path))?;
        file.out
            .get_ref()
            .sync_all()
            .map_err(write_error(&file.path))?;
        if !file.dir_synced {
            if let Some(dir) = file.path.parent() {
                sync_dir(dir).map_err(write_error(dir))?;
            }
            file.dir_synced = true;
        }
        Ok(())
    }

    /// Syncs and drops the current file; the next write starts a new one.
    fn close_current(&mut self) -> Result<(), RawStoreError> {
        let result = self.sync();
        self.current = None;
        result
    }

    /// A fresh record ID; the per-store counter keeps IDs unique even for equal inputs.
    fn next_id(&mut self, url: &str) -> String {
        self.records += 1;
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        record_id(&[
            &nanos.to_le_bytes(),
            &self.pid.to_le_bytes(),
            &self.records.to_le_bytes(),
            url.as_bytes(),
        ])
    }

    /// Creates `YYYY/MM/DD/newsmill-<stamp>-<pid>-<seq>.warc.gz` and writes its `warcinfo`.
    fn start_file(&mut self, now: DateTime<Utc>) -> Result<OpenFile, RawStoreError> {
        let day = self.folder.join(now.format("%Y/%m/%d").to_string());
        let dir = self.root.join(&day);
        fs::create_dir_all(&dir).map_err(|source| RawStoreError::Create {
            path: dir.clone(),
            source,
        })?;
        let stamp = now.format("%Y%m%dT%H%M%SZ");
        for _ in 0..NAME_ATTEMPTS {
            let name = format!(
                "newsmill-{stamp}-{}-{:05}{FILE_SUFFIX}",
                self.pid, self.next_seq
            );
            self.next_seq += 1;
            let path = dir.join(&name);
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => return self.begin(file, path, day.join(&name), &name, now),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(RawStoreError::Create { path, source }),
            }
        }
        Err(RawStoreError::Create {
            path: dir,
            source: io::Error::new(io::ErrorKind::AlreadyExists, "no free file name"),
        })
    }

    /// Writes the `warcinfo` record that opens every file.
    fn begin(
        &mut self,
        file: File,
        path: PathBuf,
        rel: PathBuf,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<OpenFile, RawStoreError> {
        let block = format!(
            "software: newsmill/{}\r\nformat: WARC File Format 1.1\r\nconformsTo: {CONFORMS_TO}\r\n",
            env!("CARGO_PKG_VERSION")
        );
        let id = self.next_id(name);
        let mut header = WarcHeader::new("warcinfo", &id, &warc_date(now));
        header.field("WARC-Filename", name);
        header.field("Content-Type", "application/warc-fields");
        header.field("WARC-Block-Digest", &sha256_label(&[block.as_bytes()]));
        let header = header.finish(block.len() as u64);
        let mut out = BufWriter::with_capacity(256 * 1024, file);
        let len = write_member(&mut out, &header, &[block.as_bytes()])
            .and_then(|len| out.flush().map(|()| len))
            .map_err(write_error(&path))?;
        Ok(OpenFile {
            path,
            rel: to_slash_path(&rel),
            out,
            len,
            warcinfo_id: id,
            dir_synced: false,
        })
    }

    /// Writes the request and response records of `page` into the current file.
    fn append_page(&mut self, page: &RawPage) -> Result<RawLocation, RawStoreError> {
        let target = page.final_url.as_str();
        let (request_id, response_id) = (self.next_id(target), self.next_id(target));
        let Some(file) = self.current.as_mut() else {
            // `write` opens a file before calling us; this is unreachable in practice.
            return Err(RawStoreError::Write {
                path: self.root.clone(),
                source: io::Error::other("no open file"),
            });
        };
        let date = warc_date(page.fetched_at);
        let request_headers = sanitize_headers(&page.request_headers);
        let req_head = request_head(&page.final_url, &request_headers);
        let mut header = WarcHeader::new("request", &request_id, &date);
        header.field("WARC-Target-URI", target);
        header.field("WARC-Concurrent-To", &response_id);
        header.field("WARC-Warcinfo-ID", &file.warcinfo_id);
        header.field("Content-Type", "application/http;msgtype=request");
        header.field("WARC-Block-Digest", &sha256_label(&[req_head.as_bytes()]));
        let request = header.finish(req_head.len() as u64);

        let head = response_head(
            &page.http_version,
            page.status,
            &page.headers,
            page.body.len(),
        );
        let mut header = WarcHeader::new("response", &response_id, &date);
        header.field("WARC-Target-URI", target);
        header.field("WARC-Concurrent-To", &request_id);
        header.field("WARC-Warcinfo-ID", &file.warcinfo_id);
        header.field("Content-Type", "application/http;msgtype=response");
        header.field(
            "WARC-Block-Digest",
            &sha256_label(&[head.as_bytes(), &page.body]),
        );
        header.field("WARC-Payload-Digest", &sha256_label(&[&page.body]));
        newsmill_fields(&mut header, page, &request_headers);
        let response = header.finish((head.len() + page.body.len()) as u64);

        let write_err = write_error(&file.path);
        file.len +=
            write_member(&mut file.out, &request, &[req_head.as_bytes()]).map_err(&write_err)?;
        let offset = file.len;
        let length = write_member(&mut file.out, &response, &[head.as_bytes(), &page.body])
            .map_err(&write_err)?;
        file.len += length;
        file.out.flush().map_err(&write_err)?;
        Ok(RawLocation {
            file: file.rel.clone(),
            offset,
            length,
        })
    }
}

/// The `WARC-Newsmill-*` fields that let a reader rebuild the exact `RawPage`.
fn newsmill_fields(header: &mut WarcHeader, page: &RawPage, request_headers: &[(String, String)]) {
    header.field(SOURCE_FIELD, page.source.as_str());
    if page.requested_url != page.final_url {
        header.field(REQUESTED_FIELD, page.requested_url.as_str());
    }
    // serde_json escapes control characters, so this JSON is always one line.
    let json = serde_json::to_string(request_headers).unwrap_or_else(|_| "[]".to_owned());
    header.field(REQUEST_HEADERS_FIELD, &json);
    if let Some(hint) = &page.hint {
        let hint = HintJson {
            url: hint.url.to_string(),
            title: hint.title.clone(),
            published: hint.published.map(|p| p.to_rfc3339()),
        };
        if let Ok(json) = serde_json::to_string(&hint) {
            header.field(HINT_FIELD, &json);
        }
    }
}

/// Maps an I/O error to [`RawStoreError::Write`] for `path`.
fn write_error(path: &Path) -> impl Fn(io::Error) -> RawStoreError + '_ {
    move |source| RawStoreError::Write {
        path: path.to_owned(),
        source,
    }
}

/// `rel` with `/` separators whatever the platform.
fn to_slash_path(rel: &Path) -> PathBuf {
    let parts: Vec<_> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect();
    PathBuf::from(parts.join("/"))
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

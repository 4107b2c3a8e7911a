//! `callplane import-cdrs DIR`: loads the CDRs FreeSWITCH kept in its err-log-dir while
//! callplane was unreachable.
//!
//! When every post fails, mod_xml_cdr writes `[a_]<uuid>.cdr.xml` and mod_json_cdr
//! `[a_]<uuid>.cdr.json` into the err-log-dir, holding the text exactly as it would have been
//! posted after `cdr=`: URL-encoded, base64 or plain by the `encode` setting (mod_xml_cdr.c,
//! `my_on_reporting`; mod_json_cdr.c, `backup_cdr`). Each file is decoded by its bytes, stored
//! under the same `(core_uuid, uuid)` identity as a live post (so running the import twice, or
//! after FreeSWITCH's own late retry, stores nothing twice) and marked `late`. Files are left in
//! place; removing them is the operator's choice.

use std::io::Write;
use std::path::{Path, PathBuf};

use sqlx::PgPool;

use crate::cdr;
use crate::store;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Newly stored (including documents kept unparsed).
    pub imported: u64,
    /// Of the imported, how many could not be parsed (kept raw).
    pub unparsed: u64,
    /// Already in the database.
    pub already_present: u64,
    /// Could not be read, or hold nothing shaped like a CDR.
    pub unreadable: u64,
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "imported {} ({} kept unparsed), already present {}, unreadable {}",
            self.imported, self.unparsed, self.already_present, self.unreadable
        )
    }
}

/// The CDR files of `dir`, by name: `*.cdr.xml` and `*.cdr.json`.
pub fn cdr_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(".cdr.xml") || n.ends_with(".cdr.json"))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// The uuid a file is named after (`a_` prefix and `.cdr.xml`/`.cdr.json` removed).
fn uuid_from_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let stem = name
        .strip_suffix(".cdr.xml")
        .or_else(|| name.strip_suffix(".cdr.json"))?;
    Some(cdr::strip_leg_prefix(stem).to_string())
}

/// Imports every CDR file of `dir`, writing a progress line to `progress` every 100 files and
/// at the end. Stops at the first database error (the files stay; rerun when it is back).
pub async fn import_cdrs(
    pool: &PgPool,
    dir: &Path,
    progress: &mut (dyn Write + Send),
) -> anyhow::Result<ImportSummary> {
    let files =
        cdr_files(dir).map_err(|e| anyhow::anyhow!("cannot list {}: {e}", dir.display()))?;
    let total = files.len();
    let mut sum = ImportSummary::default();
    for (i, path) in files.iter().enumerate() {
        let outcome = import_file(pool, path).await?;
        match outcome {
            Outcome::Imported { parsed: true } => sum.imported += 1,
            Outcome::Imported { parsed: false } => {
                sum.imported += 1;
                sum.unparsed += 1;
            }
            Outcome::Present => sum.already_present += 1,
            Outcome::Unreadable(why) => {
                tracing::warn!(file = %path.display(), reason = %why, "CDR file skipped");
                sum.unreadable += 1;
            }
        }
        let done = i + 1;
        if done % 100 == 0 || done == total {
            // Progress is best effort: a closed stderr must not stop the import.
            let _ = writeln!(progress, "import-cdrs: {done}/{total} files");
        }
    }
    Ok(sum)
}

enum Outcome {
    Imported { parsed: bool },
    Present,
    Unreadable(String),
}

async fn import_file(pool: &PgPool, path: &Path) -> anyhow::Result<Outcome> {
    let bytes = match tokio::fs::read(path).await {
        Ok(b) => b,
        Err(e) => return Ok(Outcome::Unreadable(e.to_string())),
    };
    let decoded = cdr::body::decode_bare(&bytes);
    if decoded.format == cdr::Format::Unknown {
        return Ok(Outcome::Unreadable(
            "neither XML nor JSON in any encoding FreeSWITCH writes".into(),
        ));
    }
    let query_uuid = uuid_from_name(path);
    let prepared = match cdr::prepare_decoded(decoded, query_uuid.as_deref(), true) {
        Ok(p) => p,
        Err(refused) => return Ok(Outcome::Unreadable(refused.to_string())),
    };
    prepared.log_findings();
    let parsed = prepared.summary.is_some();
    if store::cdrs::insert(pool, &prepared).await? {
        Ok(Outcome::Imported { parsed })
    } else {
        Ok(Outcome::Present)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_give_the_leg_uuid() {
        let u = |n: &str| uuid_from_name(Path::new(n));
        assert_eq!(u("/x/a_4b3b.cdr.xml").as_deref(), Some("4b3b"));
        assert_eq!(u("4b3b.cdr.json").as_deref(), Some("4b3b"));
        assert_eq!(u("notes.txt"), None);
    }
}

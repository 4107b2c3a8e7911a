//! Which upload of a call's recording wins. FreeSWITCH may post more than one file for a call:
//! curl retries the same file, and a leg that answered and failed at once (or a switch that
//! still exports the hook to every leg) posts a short or header-only file next to the real one,
//! in either order. The longest recording is the real one; a shorter one never replaces it.

use crate::store::recordings::Recording;

/// What to do with an upload when the call already has a recording row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decision {
    /// The same content is stored: nothing to do (a retry).
    Duplicate,
    /// The same content, but the earlier attempt is still (or was left) storing it: store it
    /// too (same bytes, same key).
    StoreAgain,
    /// A longer recording is stored or being stored: it is kept, this one is answered 200 and
    /// dropped.
    KeepLonger,
    /// Different content of the same size: the first is kept (409).
    Conflict,
    /// Longer than the settled recording: it replaces it.
    Replace,
    /// Longer than a recording another upload is storing right now: retry shortly (503), then
    /// it is compared with what was stored.
    Busy,
}

pub(super) fn decide(existing: &Recording, size: i64, sha256: &str) -> Decision {
    let uploading = existing.status == "uploading";
    if existing.sha256 == sha256 {
        return if uploading {
            Decision::StoreAgain
        } else {
            Decision::Duplicate
        };
    }
    match size.cmp(&existing.size) {
        std::cmp::Ordering::Less => Decision::KeepLonger,
        std::cmp::Ordering::Equal => Decision::Conflict,
        std::cmp::Ordering::Greater if uploading => Decision::Busy,
        std::cmp::Ordering::Greater => Decision::Replace,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(status: &str, size: i64, sha: &str) -> Recording {
        Recording {
            call_uuid: uuid::Uuid::nil(),
            storage_key: "2026/12/05/00000000-0000-0000-0000-000000000000.wav".into(),
            size,
            content_type: "audio/wav".into(),
            format: "wav".into(),
            sha256: sha.into(),
            status: status.into(),
            file_name: None,
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn the_longest_recording_wins_whatever_the_order() {
        use Decision::*;
        let full = row("stored", 192_044, "full");
        assert_eq!(decide(&full, 192_044, "full"), Duplicate);
        assert_eq!(decide(&full, 44, "header"), KeepLonger);
        assert_eq!(decide(&full, 0, "empty"), KeepLonger);
        assert_eq!(decide(&full, 192_044, "other"), Conflict);
        let header = row("header_only", 44, "header");
        assert_eq!(decide(&header, 192_044, "full"), Replace);
        assert_eq!(decide(&header, 44, "header"), Duplicate);
        let empty = row("empty", 0, "e3b0");
        assert_eq!(decide(&empty, 44, "header"), Replace);
        let short = row("stored", 1_000, "short");
        assert_eq!(decide(&short, 192_044, "full"), Replace);
    }

    #[test]
    fn an_upload_in_progress_is_never_overtaken() {
        use Decision::*;
        let busy = row("uploading", 44, "header");
        assert_eq!(decide(&busy, 192_044, "full"), Busy);
        assert_eq!(decide(&busy, 44, "header"), StoreAgain);
        let busy_full = row("uploading", 192_044, "full");
        assert_eq!(decide(&busy_full, 44, "header"), KeepLonger);
    }
}

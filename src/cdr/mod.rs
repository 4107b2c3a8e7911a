//! CDRs as FreeSWITCH writes them, pure and without I/O: transport decoding (`body`), the
//! mod_xml_cdr XML and mod_json_cdr JSON documents (`xml`, `json`), and the summary callplane
//! keeps of each (`summary`). `prepare` turns one post or err-log-dir file into the record the
//! store inserts, whether or not the document could be read.

pub mod body;
pub mod json;
pub mod summary;
pub mod xml;

use sha2::{Digest, Sha256};

pub use body::{Encoding, Format};
pub use summary::{CdrSummary, RawCdr};

/// Why a document could not be summarised, with what was read before the problem (a truncated
/// document often still names its switch and uuid, which keeps a repost idempotent).
#[derive(Debug, Clone)]
pub struct ParseFailure {
    pub reason: String,
    pub partial: Box<RawCdr>,
}

/// A document callplane refuses outright instead of keeping (a DOCTYPE: nothing FreeSWITCH
/// sends has one, and entity expansion is an attack).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// One CDR ready to store: the document as FreeSWITCH generated it, its identity, and the
/// summary when the document could be read.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The switch's core-uuid; empty when the document names none (2009-era FreeSWITCH).
    pub core_uuid: String,
    /// The leg's uuid; for an unreadable document the query's uuid or `unparsed-<sha256>`.
    pub uuid: String,
    pub encoding: Encoding,
    pub format: Format,
    pub document: Vec<u8>,
    /// The post's `uuid` query parameter with mod_xml_cdr's `a_` prefix removed.
    pub query_uuid: Option<String>,
    pub summary: Option<CdrSummary>,
    pub parse_error: Option<String>,
    /// Loaded from an err-log-dir rather than posted live.
    pub late: bool,
}

impl Prepared {
    /// The query named another uuid than the body (the body wins; the caller logs this).
    pub fn uuid_mismatch(&self) -> bool {
        self.summary.is_some() && self.query_uuid.as_deref().is_some_and(|q| q != self.uuid)
    }

    /// Logs what an operator should know about a CDR that is stored anyway: it could not be
    /// parsed (kept raw), or its post's query named another uuid than its document.
    pub fn log_findings(&self) {
        if let Some(reason) = &self.parse_error {
            tracing::warn!(
                cdr.uuid = %self.uuid,
                core_uuid = %self.core_uuid,
                encoding = self.encoding.as_str(),
                %reason,
                "CDR kept unparsed"
            );
        }
        if self.uuid_mismatch() {
            tracing::warn!(
                cdr.uuid = %self.uuid,
                query_uuid = self.query_uuid.as_deref().unwrap_or(""),
                "CDR query uuid differs from the document's; the document's is used"
            );
        }
    }
}

/// mod_xml_cdr appends `?uuid=a_<uuid>` for A-legs when `prefix-a-leg` is set, `<uuid>`
/// otherwise (mod_xml_cdr.c, `my_on_reporting`); err-log-dir files are named the same way.
pub fn strip_leg_prefix(uuid: &str) -> &str {
    uuid.strip_prefix("a_").unwrap_or(uuid)
}

/// Decodes, parses and identifies one CDR. Only a DOCTYPE is refused; anything else is kept,
/// summarised when possible.
pub fn prepare(
    body: &[u8],
    content_type: Option<&str>,
    query_uuid: Option<&str>,
    late: bool,
) -> Result<Prepared, Refused> {
    let decoded = body::decode(body, content_type);
    prepare_decoded(decoded, query_uuid, late)
}

/// As `prepare`, for a document already decoded (err-log-dir files).
pub fn prepare_decoded(
    decoded: body::Decoded,
    query_uuid: Option<&str>,
    late: bool,
) -> Result<Prepared, Refused> {
    let query_uuid = query_uuid
        .map(|q| strip_leg_prefix(q.trim()).to_string())
        .filter(|q| !q.is_empty() && q.len() <= 128 && !q.contains('\0'));
    let parsed = match decoded.format {
        Format::Xml => xml::parse(&decoded.document)?,
        Format::Json => json::parse(&decoded.document),
        Format::Unknown => Err(ParseFailure {
            reason: "the body is neither an XML nor a JSON CDR in any encoding FreeSWITCH uses"
                .into(),
            partial: Box::default(),
        }),
    };
    let summarized = parsed.map(|raw| raw.summarize().and_then(refuse_nul));
    let (summary, parse_error, core_uuid, uuid) = match summarized {
        Ok(Ok(s)) => {
            let (core, uuid) = (s.core_uuid.clone(), s.uuid.clone());
            (Some(s), None, core, uuid)
        }
        // Identify what cannot be summarised by what was read, the query, or the bytes.
        Ok(Err(f)) | Err(f) => {
            let core = f.partial.core_uuid().filter(|c| !c.contains('\0'));
            let core = core.unwrap_or_default();
            let uuid = f
                .partial
                .uuid()
                .filter(|u| !u.contains('\0'))
                .or_else(|| query_uuid.clone())
                .unwrap_or_else(|| digest_uuid(&decoded.document));
            (None, Some(f.reason.replace('\0', "\\0")), core, uuid)
        }
    };
    Ok(Prepared {
        core_uuid,
        uuid,
        encoding: decoded.encoding,
        format: decoded.format,
        document: decoded.document,
        query_uuid,
        summary,
        parse_error,
        late,
    })
}

/// Postgres `text` cannot hold U+0000, and FreeSWITCH percent-encodes variable values, so a
/// `%00` in one would fail the insert and make FreeSWITCH retry the same bytes for ever. Such a
/// summary is not kept: the document is stored raw, unparsed, with the reason.
fn refuse_nul(s: CdrSummary) -> Result<CdrSummary, ParseFailure> {
    let fields = [
        ("core-uuid", Some(&s.core_uuid)),
        ("uuid", Some(&s.uuid)),
        ("other leg uuid", s.other_uuid.as_ref()),
        ("caller", s.caller.as_ref()),
        ("callee", s.callee.as_ref()),
        ("gateway", s.gateway.as_ref()),
        ("hangup_cause", s.hangup_cause.as_ref()),
        ("sip_hangup_disposition", s.sip_hangup_disposition.as_ref()),
        ("switchname", s.switch_name.as_ref()),
        ("recording path", s.recording_path.as_ref()),
        ("callplane_call_uuid", s.call_uuid.as_ref()),
        ("callplane_leg", s.role.as_ref()),
    ];
    let dirty = fields
        .into_iter()
        .find(|(_, v)| v.is_some_and(|v| v.contains('\0')))
        .map(|(name, _)| name);
    match dirty {
        Some(name) => {
            let mut partial = RawCdr::default();
            // Keep the identity when it is clean, so a repost still dedupes.
            if !s.core_uuid.contains('\0') {
                partial.root.insert("core-uuid".into(), s.core_uuid.clone());
            }
            if !s.uuid.contains('\0') {
                partial.vars.insert("uuid".into(), s.uuid.clone());
            }
            Err(ParseFailure {
                reason: format!("the CDR's {name} contains a NUL character (%00)"),
                partial: Box::new(partial),
            })
        }
        None => Ok(s),
    }
}

/// A stable identity for a body nothing could be read from, so that its reposts dedupe.
fn digest_uuid(doc: &[u8]) -> String {
    let d = Sha256::digest(doc);
    let hex: String = d.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("unparsed-{hex}")
}

#[cfg(test)]
mod props;
#[cfg(test)]
mod real_tests;
#[cfg(test)]
mod tests;

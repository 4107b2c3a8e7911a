//! `show <what>` output: the default CSV form (header row, rows, blank line, `N total.`) and
//! the `as json` form (`{"row_count": N, "rows": [...]}`).

use std::collections::BTreeMap;

/// One row of a `show` table, by column name.
pub type ShowRow = BTreeMap<String, String>;

/// Parses `show ...` CSV output. FreeSWITCH does not quote fields, so a row with more fields
/// than the header (a comma inside a value) is dropped rather than misread. The second value is
/// the count from the `N total.` line, when present.
pub fn parse_show_csv(body: &str) -> (Vec<ShowRow>, Option<usize>) {
    let mut lines = body
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .skip_while(|l| l.trim().is_empty());
    let Some(header) = lines.next() else {
        return (Vec::new(), None);
    };
    let columns: Vec<&str> = header.split(',').collect();
    let mut rows = Vec::new();
    let mut total = None;
    for line in lines {
        if line.is_empty() {
            continue;
        }
        if let Some(n) = line
            .strip_suffix(" total.")
            .and_then(|n| n.trim().parse().ok())
        {
            total = Some(n);
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != columns.len() {
            continue;
        }
        rows.push(
            columns
                .iter()
                .zip(fields)
                .map(|(c, f)| (c.to_string(), f.to_string()))
                .collect(),
        );
    }
    (rows, total)
}

/// Parses `show ... as json`. FreeSWITCH answers `{"row_count":0}` with no `rows` when the
/// table is empty; values are strings, but numbers are accepted and kept as text.
pub fn parse_show_json(body: &str) -> Result<Vec<ShowRow>, String> {
    let v: serde_json::Value =
        serde_json::from_str(body.trim()).map_err(|e| format!("not JSON: {e}"))?;
    let Some(rows) = v.get("rows") else {
        return match v.get("row_count").and_then(|n| n.as_u64()) {
            Some(0) => Ok(Vec::new()),
            _ => Err("no rows and no row_count 0".into()),
        };
    };
    let rows = rows.as_array().ok_or("rows is not a list")?;
    Ok(rows
        .iter()
        .filter_map(|r| r.as_object())
        .map(|r| {
            r.iter()
                .map(|(k, v)| {
                    let text = match v {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    (k.clone(), text)
                })
                .collect()
        })
        .collect())
}

/// Parses `show ... as xml`: `<result row_count="N"><row row_id="1"><col>value</col>...`.
pub fn parse_show_xml(body: &str) -> Vec<ShowRow> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(body);
    let mut rows = Vec::new();
    let mut row: Option<ShowRow> = None;
    let mut col: Option<String> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => match (e.name().0, row.is_some()) {
                ("row", _) => row = Some(ShowRow::new()),
                (name, true) => {
                    col = Some(name.to_string());
                    if let Some(r) = row.as_mut() {
                        r.insert(name.to_string(), String::new());
                    }
                }
                _ => {}
            },
            Ok(Event::Empty(e)) => {
                if let Some(r) = row.as_mut() {
                    r.insert(e.name().0.to_string(), String::new());
                }
            }
            Ok(Event::Text(t)) => {
                if let (Some(r), Some(c)) = (row.as_mut(), col.as_ref()) {
                    let text = t.xml_content(quick_xml::XmlVersion::Implicit1_0);
                    r.entry(c.clone()).or_default().push_str(&text);
                }
            }
            Ok(Event::GeneralRef(g)) => {
                if let (Some(r), Some(c)) = (row.as_mut(), col.as_ref()) {
                    let text = quick_xml::escape::resolve_predefined_entity(&g).unwrap_or("");
                    r.entry(c.clone()).or_default().push_str(text);
                }
            }
            Ok(Event::End(e)) => {
                if e.name().0 == "row" {
                    rows.extend(row.take());
                }
                col = None;
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    rows
}

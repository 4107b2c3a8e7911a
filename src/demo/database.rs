//! Which database the demo uses: a database whose name starts with `callplane_demo`, never
//! the service's own. The default is the configured server with the database
//! `callplane_demo`; an explicit URL must name a `callplane_demo*` database itself.

use crate::store;

/// The name the demo uses when none is given.
pub const DEMO_DATABASE: &str = "callplane_demo";

/// The demo's database URL: `explicit` when given (it must name a demo database), else
/// `configured` with its database name replaced by [`DEMO_DATABASE`]. The check is made on
/// the name the Postgres driver will actually connect to, so a `dbname=` parameter or an
/// environment default cannot lead the demo into another database.
pub fn demo_database_url(configured: &str, explicit: Option<&str>) -> Result<String, String> {
    let url = match explicit {
        Some(u) => u.to_string(),
        None => with_database(configured, DEMO_DATABASE)
            .ok_or("the configured database URL (DATABASE_URL) is not a postgres:// URL")?,
    };
    let what = if explicit.is_some() {
        "--database-url"
    } else {
        "the demo database URL"
    };
    match store::database_name(&url) {
        Some(name) if is_demo_name(&name) => Ok(url),
        Some(name) => Err(format!(
            "{what}: the demo only uses a database whose name starts with {DEMO_DATABASE} \
             (letters, digits, _), not '{name}'"
        )),
        None => Err(format!(
            "{what}: not a Postgres URL naming a database, e.g. \
             postgres://postgres@127.0.0.1:5432/{DEMO_DATABASE}"
        )),
    }
}

/// `callplane_demo` or `callplane_demo_<letters, digits, _>`.
fn is_demo_name(name: &str) -> bool {
    name.strip_prefix(DEMO_DATABASE).is_some_and(|rest| {
        rest.is_empty()
            || (rest.starts_with('_')
                && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    })
}

/// `url` with the path (the database name) replaced by `name`; query parameters are kept.
fn with_database(url: &str, name: &str) -> Option<String> {
    let scheme_end = url.find("://")? + 3;
    if !url[..scheme_end].starts_with("postgres") {
        return None;
    }
    let (base, query) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    Some(format!("{}/{name}{query}", &base[..authority_end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_replaces_the_configured_database_name() {
        assert_eq!(
            demo_database_url("postgres://postgres@127.0.0.1:5432/callplane", None).unwrap(),
            "postgres://postgres@127.0.0.1:5432/callplane_demo"
        );
        assert_eq!(
            demo_database_url("postgres://u:p@db:5432/prod?sslmode=disable", None).unwrap(),
            "postgres://u:p@db:5432/callplane_demo?sslmode=disable"
        );
        assert_eq!(
            demo_database_url("postgresql://db", None).unwrap(),
            "postgresql://db/callplane_demo"
        );
    }

    #[test]
    fn a_dbname_parameter_cannot_redirect_the_demo() {
        let e = demo_database_url("postgres://db/callplane?dbname=prod", None).unwrap_err();
        assert!(e.contains("'prod'"), "{e}");
    }

    #[test]
    fn an_explicit_url_must_name_a_demo_database() {
        assert!(demo_database_url("x", Some("postgres://db/callplane_demo_7")).is_ok());
        for bad in [
            "postgres://db/callplane",
            "postgres://db/callplane_demox",
            "postgres://db/callplane_demo-1",
        ] {
            let e = demo_database_url("x", Some(bad)).unwrap_err();
            assert!(e.starts_with("--database-url"), "{e}");
        }
        assert!(demo_database_url("mysql://db/x", None).is_err());
    }
}

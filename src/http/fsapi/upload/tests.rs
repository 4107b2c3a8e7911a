//! Query parsing of the upload: one strict uuid (an optional `a_` prefix, either case), one token.

use super::*;

const U: &str = "0b5b3a3c-1c8e-4f3a-9d2e-2f4b5c6d7e8f";

fn rejected(q: &str) -> bool {
    matches!(parse_query(q), Err(UploadError::BadRequest(_)))
}

#[test]
fn query_takes_one_strict_uuid_with_an_optional_a_prefix() {
    assert_eq!(
        parse_query(&format!("uuid={U}&token=t"))
            .unwrap()
            .0
            .to_string(),
        U
    );
    assert_eq!(
        parse_query(&format!("uuid=a_{U}&token=t"))
            .unwrap()
            .0
            .to_string(),
        U
    );
    let upper = U.to_uppercase();
    assert_eq!(
        parse_query(&format!("uuid={upper}&token=t"))
            .unwrap()
            .0
            .to_string(),
        U
    );
    assert!(rejected("uuid=../../etc/passwd&token=t"));
    assert!(rejected("uuid=..%2F..%2Fetc%2Fpasswd&token=t"));
    assert!(rejected(&format!("uuid={U}%20&token=t")));
    assert!(rejected(&format!("uuid={U}+&token=t")));
    assert!(rejected(&format!("uuid=a_a_{U}&token=t")));
    assert!(rejected(&format!("uuid={U}&uuid={U}&token=t")));
    assert!(rejected(&format!("uuid={U}&token=t&token=t")));
    assert!(rejected("token=t"));
    assert!(matches!(
        parse_query(&format!("uuid={U}")),
        Err(UploadError::Unauthorized)
    ));
}

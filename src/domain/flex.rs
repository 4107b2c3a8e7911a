//! Serde helpers that let one request type accept both JSON bodies and
//! `application/x-www-form-urlencoded` bodies, where every value arrives as a string.
//! `null` and absence both mean "not given".

use serde::Deserialize;
use serde::de::{self, Deserializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum BoolOrText {
    Bool(bool),
    Text(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum IntOrText {
    Int(i64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ListOrText {
    List(Vec<String>),
    Text(String),
}

pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Option::<BoolOrText>::deserialize(d)? {
        None => Ok(None),
        Some(BoolOrText::Bool(b)) => Ok(Some(b)),
        Some(BoolOrText::Text(t)) => match t.as_str() {
            "true" | "1" => Ok(Some(true)),
            "false" | "0" => Ok(Some(false)),
            _ => Err(de::Error::custom("expected true or false")),
        },
    }
}

pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<IntOrText>::deserialize(d)? {
        None => Ok(None),
        Some(IntOrText::Int(n)) => Ok(Some(n)),
        Some(IntOrText::Text(t)) => t
            .parse::<i64>()
            .map(Some)
            .map_err(|_| de::Error::custom("expected a whole number")),
    }
}

/// A list given as a JSON array of strings or as one comma-separated string
/// (`"新疆,西藏"`); an empty string is the empty list.
pub fn opt_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    match Option::<ListOrText>::deserialize(d)? {
        None => Ok(None),
        Some(ListOrText::List(v)) => Ok(Some(v)),
        Some(ListOrText::Text(t)) if t.is_empty() => Ok(Some(Vec::new())),
        Some(ListOrText::Text(t)) => Ok(Some(t.split(',').map(str::to_string).collect())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    struct Probe {
        #[serde(default, deserialize_with = "opt_bool")]
        b: Option<bool>,
        #[serde(default, deserialize_with = "opt_i64")]
        n: Option<i64>,
        #[serde(default, deserialize_with = "opt_list")]
        l: Option<Vec<String>>,
    }

    #[test]
    fn json_and_text_forms_agree() {
        let a: Probe = serde_json::from_str(r#"{"b":true,"n":5,"l":["x","y"]}"#).unwrap();
        let b: Probe = serde_json::from_str(r#"{"b":"true","n":"5","l":"x,y"}"#).unwrap();
        assert_eq!((a.b, a.n, a.l.clone()), (b.b, b.n, b.l));
        let none: Probe = serde_json::from_str(r#"{"b":null}"#).unwrap();
        assert_eq!((none.b, none.n, none.l), (None, None, None));
    }

    #[test]
    fn wrong_types_are_errors() {
        assert!(serde_json::from_str::<Probe>(r#"{"b":"yes"}"#).is_err());
        assert!(serde_json::from_str::<Probe>(r#"{"n":"5x"}"#).is_err());
        assert!(serde_json::from_str::<Probe>(r#"{"n":1.5}"#).is_err());
        assert!(serde_json::from_str::<Probe>(r#"{"l":[1,2]}"#).is_err());
    }
}

//! Chinese provincial-level divisions, for line blind areas (盲区). Accepts the common name
//! (北京, 新疆), the official full name (北京市, 新疆维吾尔自治区), the standard one-character
//! abbreviation (京, 新) and pinyin (Beijing); stores the common name, which is also how the
//! number-region data names provinces.

use super::FieldError;

/// One division: common name, official full name, abbreviations, pinyin spellings.
struct Division {
    name: &'static str,
    full: &'static str,
    short: &'static [&'static str],
    pinyin: &'static [&'static str],
}

const fn d(
    name: &'static str,
    full: &'static str,
    short: &'static [&'static str],
    pinyin: &'static [&'static str],
) -> Division {
    Division {
        name,
        full,
        short,
        pinyin,
    }
}

const DIVISIONS: &[Division] = &[
    d("北京", "北京市", &["京"], &["beijing"]),
    d("天津", "天津市", &["津"], &["tianjin"]),
    d("河北", "河北省", &["冀"], &["hebei"]),
    d("山西", "山西省", &["晋"], &["shanxi"]),
    d(
        "内蒙古",
        "内蒙古自治区",
        &["蒙"],
        &["neimenggu", "inner mongolia"],
    ),
    d("辽宁", "辽宁省", &["辽"], &["liaoning"]),
    d("吉林", "吉林省", &["吉"], &["jilin"]),
    d("黑龙江", "黑龙江省", &["黑"], &["heilongjiang"]),
    d("上海", "上海市", &["沪"], &["shanghai"]),
    d("江苏", "江苏省", &["苏"], &["jiangsu"]),
    d("浙江", "浙江省", &["浙"], &["zhejiang"]),
    d("安徽", "安徽省", &["皖"], &["anhui"]),
    d("福建", "福建省", &["闽"], &["fujian"]),
    d("江西", "江西省", &["赣"], &["jiangxi"]),
    d("山东", "山东省", &["鲁"], &["shandong"]),
    d("河南", "河南省", &["豫"], &["henan"]),
    d("湖北", "湖北省", &["鄂"], &["hubei"]),
    d("湖南", "湖南省", &["湘"], &["hunan"]),
    d("广东", "广东省", &["粤"], &["guangdong"]),
    d("广西", "广西壮族自治区", &["桂"], &["guangxi"]),
    d("海南", "海南省", &["琼"], &["hainan"]),
    d("重庆", "重庆市", &["渝"], &["chongqing"]),
    d("四川", "四川省", &["川", "蜀"], &["sichuan"]),
    d("贵州", "贵州省", &["贵", "黔"], &["guizhou"]),
    d("云南", "云南省", &["云", "滇"], &["yunnan"]),
    d("西藏", "西藏自治区", &["藏"], &["xizang", "tibet"]),
    d("陕西", "陕西省", &["陕", "秦"], &["shaanxi"]),
    d("甘肃", "甘肃省", &["甘", "陇"], &["gansu"]),
    d("青海", "青海省", &["青"], &["qinghai"]),
    d("宁夏", "宁夏回族自治区", &["宁"], &["ningxia"]),
    d("新疆", "新疆维吾尔自治区", &["新"], &["xinjiang"]),
    d(
        "香港",
        "香港特别行政区",
        &["港"],
        &["hong kong", "hongkong"],
    ),
    d("澳门", "澳门特别行政区", &["澳"], &["macau", "macao"]),
    d("台湾", "台湾省", &["台"], &["taiwan"]),
];

/// Every common name, in the order above: the list an error message offers.
pub fn accepted_names() -> Vec<&'static str> {
    DIVISIONS.iter().map(|d| d.name).collect()
}

/// Resolves one province as typed by a caller to its common name.
pub fn normalize(field: &str, input: &str) -> Result<&'static str, FieldError> {
    let lower = input.to_ascii_lowercase();
    let found = DIVISIONS.iter().find(|d| {
        d.name == input
            || d.full == input
            || d.short.contains(&input)
            || d.pinyin.contains(&lower.as_str())
    });
    if let Some(d) = found {
        return Ok(d.name);
    }
    let candidates: Vec<&str> = if input.is_empty() {
        Vec::new()
    } else {
        DIVISIONS
            .iter()
            .filter(|d| d.name.starts_with(input))
            .map(|d| d.name)
            .collect()
    };
    if candidates.len() > 1 {
        return Err(FieldError::new(
            field,
            format!(
                "'{input}' is ambiguous: it could be {}; write the full name",
                candidates.join(" or ")
            ),
        ));
    }
    Err(FieldError::new(
        field,
        format!(
            "'{input}' is not a known province; accepted: {} (also their full names such as 新疆维吾尔自治区, abbreviations such as 京 and pinyin)",
            accepted_names().join(", ")
        ),
    ))
}

/// Normalises a list of provinces: each resolved, duplicates removed, order kept.
pub fn normalize_list(field: &str, inputs: &[String]) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::with_capacity(inputs.len());
    for (i, raw) in inputs.iter().enumerate() {
        let name = normalize(&format!("{field}[{i}]"), raw)?;
        if !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_short_and_common_names_resolve_to_the_common_name() {
        for (input, want) in [
            ("北京", "北京"),
            ("北京市", "北京"),
            ("京", "北京"),
            ("新疆", "新疆"),
            ("新", "新疆"),
            ("新疆维吾尔自治区", "新疆"),
            ("藏", "西藏"),
            ("西藏自治区", "西藏"),
            ("黔", "贵州"),
            ("Guangdong", "广东"),
            ("shaanxi", "陕西"),
            ("shanxi", "山西"),
        ] {
            assert_eq!(normalize("blind_areas", input).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn ambiguous_prefix_names_both_candidates() {
        let e = normalize("blind_areas[0]", "广").unwrap_err();
        assert_eq!(e.field, "blind_areas[0]");
        assert!(
            e.reason.contains("ambiguous")
                && e.reason.contains("广东")
                && e.reason.contains("广西")
        );
        assert!(
            normalize("x", "湖")
                .unwrap_err()
                .reason
                .contains("湖北 or 湖南")
        );
    }

    #[test]
    fn unknown_name_lists_what_is_accepted() {
        let e = normalize("blind_areas[1]", "火星").unwrap_err();
        assert!(e.reason.contains("not a known province"));
        assert!(e.reason.contains("北京") && e.reason.contains("新疆"));
        assert!(normalize("x", "").is_err());
        assert!(
            normalize("x", " 北京").is_err(),
            "no trimming: reject, never strip"
        );
    }

    #[test]
    fn list_is_deduplicated_in_order_and_names_the_bad_index() {
        let got =
            normalize_list("blind_areas", &["藏".into(), "新疆".into(), "西藏".into()]).unwrap();
        assert_eq!(got, vec!["西藏", "新疆"]);
        let e = normalize_list("blind_areas", &["京".into(), "nowhere".into()]).unwrap_err();
        assert_eq!(e.field, "blind_areas[1]");
    }

    #[test]
    fn every_abbreviation_is_unique() {
        let mut seen = std::collections::HashSet::new();
        for d in DIVISIONS {
            for s in d.short.iter().chain(d.pinyin) {
                assert!(seen.insert(*s), "duplicate alias {s}");
            }
        }
    }
}

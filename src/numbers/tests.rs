use super::*;

fn data() -> &'static PhoneData {
    PhoneData::embedded()
}

#[test]
fn header_matches_the_recorded_version_and_size() {
    assert_eq!(data().version(), "2312");
    assert_eq!(data().mobile_prefixes(), 499_527);
}

#[test]
fn mobile_numbers_resolve_by_prefix() {
    // 1300000 is the first index entry: 联通, record for 山东 济南 in this data version.
    let r = data().lookup("13000001234").unwrap();
    assert_eq!(r.carrier, Carrier::ChinaUnicom);
    assert_eq!(r.province, "山东");
    let r = data().lookup("+8613000001234").unwrap();
    assert_eq!(r.province, "山东");
    assert_eq!(
        data().lookup("008613000001234"),
        data().lookup("13000001234")
    );
    assert_eq!(data().lookup("8613000001234"), data().lookup("13000001234"));
}

#[test]
fn landlines_resolve_by_area_code() {
    let bj = data().lookup("01088886666").unwrap();
    assert_eq!(
        (bj.province, bj.city, bj.area_code),
        ("北京", "北京", "010")
    );
    let hz = data().lookup("057188880000").unwrap();
    assert_eq!((hz.province, hz.city), ("浙江", "杭州"));
    let urumqi = data().lookup("09911234567").unwrap();
    assert_eq!(urumqi.province, "新疆");
    let lhasa = data().lookup("08916543210").unwrap();
    assert_eq!(lhasa.province, "西藏");
}

#[test]
fn unknown_and_malformed_numbers_are_region_unknown() {
    for n in [
        "",
        "1000",
        "19999999999999",
        "10086",
        "+14155550100",
        "0000000000",
        "1380013800x",
        "400-800-8888",
    ] {
        assert_eq!(data().lookup(n), None, "{n}");
    }
}

#[test]
fn every_province_in_the_data_is_one_blind_areas_accept() {
    let codes = data().area_codes();
    for (province, _) in codes.values() {
        assert_eq!(
            crate::domain::province::normalize("x", province).unwrap(),
            *province
        );
    }
}

#[test]
fn a_truncated_file_is_refused() {
    assert!(PhoneData::parse(&DATA[..4]).is_err());
    assert!(PhoneData::parse(&DATA[..DATA.len() - 1]).is_err());
}

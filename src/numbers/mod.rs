//! Number -> region lookup for Chinese numbers: mobile numbers by their 7-digit prefix and
//! landlines by long-distance area code, from the embedded `assets/phone.dat` (see
//! `assets/README.md` for its source, version and licence). A number the data does not know is
//! `None`: "region unknown", which blind areas never block.

use std::collections::HashMap;
use std::sync::OnceLock;

static DATA: &[u8] = include_bytes!("../../assets/phone.dat");
const INDEX_ENTRY: usize = 9;

/// Where a number is registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub province: &'static str,
    pub city: &'static str,
    /// Long-distance area code of the city, e.g. "0571".
    pub area_code: &'static str,
    pub carrier: Carrier,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    ChinaMobile,
    ChinaUnicom,
    ChinaTelecom,
    ChinaBroadnet,
    /// A virtual operator on the named network.
    Virtual(&'static str),
    /// A landline, or a type the data does not name.
    Unknown,
}

impl Carrier {
    fn from_code(code: u8) -> Carrier {
        match code {
            1 => Carrier::ChinaMobile,
            2 => Carrier::ChinaUnicom,
            3 => Carrier::ChinaTelecom,
            4 => Carrier::Virtual("telecom"),
            5 => Carrier::Virtual("unicom"),
            6 => Carrier::Virtual("mobile"),
            7 => Carrier::ChinaBroadnet,
            8 => Carrier::Virtual("broadnet"),
            _ => Carrier::Unknown,
        }
    }
}

/// The parsed view of `phone.dat`: the index stays in the embedded bytes; the landline map is
/// built on first use.
pub struct PhoneData {
    bytes: &'static [u8],
    version: &'static str,
    index_start: usize,
    entries: usize,
    area_codes: OnceLock<HashMap<&'static str, (&'static str, &'static str)>>,
}

fn le_i32(b: &[u8], at: usize) -> i32 {
    i32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl PhoneData {
    /// The embedded data set, parsed once.
    pub fn embedded() -> &'static PhoneData {
        static PARSED: OnceLock<PhoneData> = OnceLock::new();
        PARSED.get_or_init(|| PhoneData::parse(DATA).expect("embedded phone.dat is well-formed"))
    }

    fn parse(bytes: &'static [u8]) -> Result<PhoneData, &'static str> {
        if bytes.len() < 8 {
            return Err("shorter than its header");
        }
        let version = std::str::from_utf8(&bytes[..4]).map_err(|_| "version is not text")?;
        let index_start = usize::try_from(le_i32(bytes, 4)).map_err(|_| "negative index offset")?;
        if index_start < 8
            || index_start > bytes.len()
            || !(bytes.len() - index_start).is_multiple_of(INDEX_ENTRY)
        {
            return Err("index offset does not fit the file");
        }
        let entries = (bytes.len() - index_start) / INDEX_ENTRY;
        Ok(PhoneData {
            bytes,
            version,
            index_start,
            entries,
            area_codes: OnceLock::new(),
        })
    }

    /// The data version from the header, e.g. "2312".
    pub fn version(&self) -> &'static str {
        self.version
    }

    pub fn mobile_prefixes(&self) -> usize {
        self.entries
    }

    fn entry(&self, i: usize) -> (i32, usize, u8) {
        let at = self.index_start + i * INDEX_ENTRY;
        (
            le_i32(self.bytes, at),
            le_i32(self.bytes, at + 4) as usize,
            self.bytes[at + 8],
        )
    }

    /// `province|city|zip|area_code` at `offset`, split.
    fn record(&self, offset: usize) -> Option<[&'static str; 4]> {
        let bytes: &'static [u8] = self.bytes;
        let rest = bytes.get(offset..self.index_start)?;
        let end = rest.iter().position(|&b| b == 0)?;
        let text = std::str::from_utf8(&rest[..end]).ok()?;
        let mut parts = text.split('|');
        Some([parts.next()?, parts.next()?, parts.next()?, parts.next()?])
    }

    fn mobile(&self, digits: &str) -> Option<Region> {
        let prefix: i32 = digits.get(..7)?.parse().ok()?;
        let (mut lo, mut hi) = (0usize, self.entries);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let (p, offset, kind) = self.entry(mid);
            match p.cmp(&prefix) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => {
                    let [province, city, _, area_code] = self.record(offset)?;
                    return Some(Region {
                        province,
                        city,
                        area_code,
                        carrier: Carrier::from_code(kind),
                    });
                }
            }
        }
        None
    }

    /// Area code -> (province, city); where several city names share a code (old and new
    /// names), the one most mobile prefixes use.
    fn area_codes(&self) -> &HashMap<&'static str, (&'static str, &'static str)> {
        self.area_codes.get_or_init(|| {
            let mut uses: HashMap<usize, usize> = HashMap::new();
            for i in 0..self.entries {
                *uses.entry(self.entry(i).1).or_default() += 1;
            }
            let mut best: HashMap<&'static str, (usize, &'static str, &'static str)> =
                HashMap::new();
            for (offset, count) in uses {
                if let Some([province, city, _, code]) = self.record(offset) {
                    let slot = best.entry(code).or_insert((0, province, city));
                    if count > slot.0 || (count == slot.0 && city < slot.2) {
                        *slot = (count, province, city);
                    }
                }
            }
            best.into_iter()
                .map(|(code, (_, p, c))| (code, (p, c)))
                .collect()
        })
    }

    fn landline(&self, digits: &str) -> Option<Region> {
        let codes = self.area_codes();
        (3..=5).filter_map(|n| digits.get(..n)).find_map(|code| {
            let (area_code, (province, city)) = codes.get_key_value(code)?;
            Some(Region {
                province,
                city,
                area_code,
                carrier: Carrier::Unknown,
            })
        })
    }

    /// The region of a number: `13800138000`, `+8613800138000`, `008613800138000`,
    /// `057188880000` (landline with area code). `None` when the data does not know it.
    pub fn lookup(&self, number: &str) -> Option<Region> {
        let digits = national(number)?;
        match digits.as_bytes() {
            [b'1', ..] if digits.len() == 11 => self.mobile(digits),
            [b'0', b'1'..=b'9', ..] if (10..=12).contains(&digits.len()) => self.landline(digits),
            _ => None,
        }
    }
}

/// The national form of a number: digits only, without the +86 / 0086 country prefix.
fn national(number: &str) -> Option<&str> {
    let n = number
        .strip_prefix('+')
        .map(|rest| rest.strip_prefix("86"))
        .unwrap_or(Some(number))?;
    let n = match n.strip_prefix("0086") {
        Some(rest) => rest,
        None => n,
    };
    let n = if n.len() == 13 && n.starts_with("861") {
        &n[2..]
    } else {
        n
    };
    n.bytes().all(|b| b.is_ascii_digit()).then_some(n)
}

#[cfg(test)]
mod tests;

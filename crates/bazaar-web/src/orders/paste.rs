//! Paste-to-fill of the address form: a whole address as people send it in a chat
//! ("张三 13812345678 浙江省杭州市西湖区文三路 90 号") split into the recipient, the phone, the
//! region (down to the county, by the official tree: the province may be left out, a
//! municipality's one prefecture is implied) and the rest of the address. It only fills the
//! form: the buyer checks it and saves, and the save validates as for a typed address.

use bazaar_store::Store;
use bazaar_store::network::Region;

/// The longest paste read (characters): an address with a name and a phone is far shorter.
pub const MAX_PASTE_CHARS: usize = 300;

/// What a paste gave: each part empty when it was not found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Filled {
    /// The recipient's name.
    pub recipient: String,
    /// An 11-digit mobile number.
    pub phone: String,
    /// The deepest region recognised (county, else prefecture or province).
    pub region_code: String,
    /// The rest: street, number, village, building.
    pub detail: String,
}

/// Words people put before the parts, dropped from the paste.
const LABELS: [&str; 10] = [
    "收货人",
    "收件人",
    "联系人",
    "姓名",
    "手机号码",
    "手机号",
    "手机",
    "电话",
    "详细地址",
    "地址",
];

/// Characters that mark a piece of address, never a name.
const PLACE_MARKS: &str = "省市区县旗乡镇村路街道巷弄号楼栋室组屯社队园场院厦座里";

/// Cuts a mobile number out of `text` (digits possibly split by spaces or dashes, a
/// leading +86 or 86 allowed): the number and the text without it.
fn take_phone(text: &str) -> (String, String) {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '1' {
            let mut digits = String::new();
            let mut j = i;
            while j < chars.len() && digits.len() < 11 {
                match chars[j] {
                    c @ '0'..='9' => digits.push(c),
                    ' ' | '-' if !digits.is_empty() => {}
                    _ => break,
                }
                j += 1;
            }
            let next_is_digit = chars.get(j).is_some_and(char::is_ascii_digit);
            let second = digits.as_bytes().get(1).copied().unwrap_or(b'0');
            if digits.len() == 11 && !next_is_digit && (b'3'..=b'9').contains(&second) {
                let mut start = i;
                // A country code before it goes too.
                let before: String = chars[..start].iter().collect();
                for cc in ["+86 ", "+86-", "+86", "86 ", "86-"] {
                    if before.ends_with(cc) {
                        start -= cc.chars().count();
                        break;
                    }
                }
                let rest: String = chars[..start].iter().chain(&chars[j..]).collect();
                return (digits, rest);
            }
        }
        i += 1;
    }
    (String::new(), text.to_string())
}

/// The shorter names a region goes by (`浙江省` → `浙江`, `新疆维吾尔自治区` → `新疆`,
/// `巴音郭楞蒙古自治州` → `巴音郭楞`); the full name first.
fn names_of(r: &Region) -> Vec<String> {
    let mut out = vec![r.name.clone()];
    if r.level == "county" {
        // `西湖区` stays whole: `西湖` alone is too common a word.
        return out;
    }
    for suffix in [
        "维吾尔自治区",
        "壮族自治区",
        "回族自治区",
        "特别行政区",
        "自治区",
        "蒙古自治州",
        "藏族自治州",
        "自治州",
        "地区",
        "省",
        "市",
        "盟",
    ] {
        if let Some(short) = r.name.strip_suffix(suffix)
            && short.chars().count() >= 2
        {
            out.push(short.to_string());
            break;
        }
    }
    out
}

/// The region of `candidates` named earliest in `text` (the longest name at a place), with
/// the text after the name.
fn find_region<'a>(candidates: &'a [Region], text: &str) -> Option<(&'a Region, String)> {
    let mut best: Option<(usize, usize, &Region)> = None;
    for r in candidates {
        for n in names_of(r) {
            if let Some(at) = text.find(&n) {
                let better = match best {
                    None => true,
                    Some((b_at, b_len, _)) => at < b_at || (at == b_at && n.len() > b_len),
                };
                if better {
                    best = Some((at, n.len(), r));
                }
            }
        }
    }
    best.map(|(at, len, r)| {
        let rest = format!("{} {}", &text[..at], &text[at + len..]);
        (r, rest)
    })
}

/// Reads a pasted address. The region tree is read level by level (three small queries at
/// most, the prefectures at once when the province was left out).
pub async fn fill(store: &Store, pasted: &str) -> Filled {
    let text: String = pasted
        .chars()
        .take(MAX_PASTE_CHARS)
        .map(|c| match c {
            '，' | ',' | '；' | ';' | '：' | ':' | '\n' | '\r' | '\t' | '　' | '、' | '|' => {
                ' '
            }
            c => c,
        })
        .collect();
    let mut text = text;
    for l in LABELS {
        text = text.replace(l, " ");
    }
    let (phone, mut text) = take_phone(&text);
    let mut chosen: Option<Region> = None;
    // Province, then prefecture, then county.
    let provinces = store.region_children(None).await.unwrap_or_default();
    if let Some((p, rest)) = find_region(&provinces, &text) {
        chosen = Some(p.clone());
        text = rest;
    } else {
        // "杭州市西湖区…": the province left out.
        let prefectures = store
            .regions_at(bazaar_domain::region::RegionLevel::Prefecture)
            .await
            .unwrap_or_default();
        if let Some((p, rest)) = find_region(&prefectures, &text) {
            chosen = Some(p.clone());
            text = rest;
        }
    }
    for _ in 0..2 {
        let Some(at) = &chosen else { break };
        if at.level == "county" {
            break;
        }
        let children = store
            .region_children(Some(&at.code))
            .await
            .unwrap_or_default();
        match find_region(&children, &text) {
            Some((c, rest)) => {
                chosen = Some(c.clone());
                text = rest;
            }
            // A municipality's one prefecture (北京市 › 北京市) goes without saying.
            None if children.len() == 1 && at.level == "province" => {
                chosen = Some(children[0].clone());
            }
            None => break,
        }
    }
    // The name: the first short piece with no mark of a place and no digit.
    let words: Vec<&str> = text.split_whitespace().collect();
    let name_at = words.iter().position(|w| {
        let n = w.chars().count();
        (2..=10).contains(&n)
            && !w
                .chars()
                .any(|c| c.is_ascii_digit() || PLACE_MARKS.contains(c))
    });
    let recipient = name_at.map(|i| words[i].to_string()).unwrap_or_default();
    let detail: Vec<&str> = words
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != name_at)
        .map(|(_, w)| *w)
        .collect();
    Filled {
        recipient,
        phone,
        region_code: chosen.map(|r| r.code).unwrap_or_default(),
        detail: detail.join(" ").chars().take(120).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::take_phone;

    #[test]
    fn a_mobile_number_is_cut_out_however_it_is_written() {
        assert_eq!(
            take_phone("张三 13812345678 杭州"),
            ("13812345678".into(), "张三  杭州".into())
        );
        assert_eq!(take_phone("+86 138-1234-5678 张三").0, "13812345678");
        assert_eq!(take_phone("张三138 1234 5678").0, "13812345678");
        // Not a mobile: too long, or a landline.
        assert_eq!(take_phone("123456789012").0, "");
        assert_eq!(take_phone("0996-1234567").0, "");
        assert_eq!(take_phone("12012345678").0, "");
    }
}

//! `GET /api/roms`'s query string, in romgate's names and RomM's. RomM
//! repeats `platform_ids` once per platform, which a struct-shaped query
//! extractor cannot read, so the pairs are read one by one. Parameters of
//! RomM's that romgate has no use for (`with_char_index`, filters on
//! metadata it does not keep) are ignored; a known one given twice, or with
//! a value of the wrong type, is a 400.

use crate::error::{AppError, AppResult, Code};
use crate::library::{RomQuery, rom_order};

/// The parameters read, before their meaning is checked.
#[derive(Default)]
struct Raw {
    platform_ids: Vec<i64>,
    search: Option<String>,
    search_term: Option<String>,
    order_by: Option<String>,
    order_dir: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

/// The listing a query string asks for.
pub fn rom_query(query: Option<&str>) -> AppResult<RomQuery> {
    let mut raw = Raw::default();
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let value = value.into_owned();
        match key.as_ref() {
            "platform_id" | "platform_ids" => raw.platform_ids.push(number(&key, &value)?),
            "search" => once(&key, &mut raw.search, value)?,
            "search_term" => once(&key, &mut raw.search_term, value)?,
            "order_by" => once(&key, &mut raw.order_by, value)?,
            "order_dir" => once(&key, &mut raw.order_dir, value)?,
            "limit" => once(&key, &mut raw.limit, number(&key, &value)?)?,
            "offset" => once(&key, &mut raw.offset, number(&key, &value)?)?,
            _ => {}
        }
    }
    let order = rom_order(raw.order_by.as_deref(), raw.order_dir.as_deref())?;
    Ok(RomQuery {
        platform_ids: raw.platform_ids,
        // RomM's name first; romgate's own `search` otherwise.
        search: raw.search_term.filter(|s| !s.trim().is_empty()).or(raw.search),
        order,
        limit: raw.limit,
        offset: raw.offset,
    })
}

fn number(key: &str, value: &str) -> AppResult<i64> {
    value
        .trim()
        .parse()
        .map_err(|_| AppError::bad_request(Code::InvalidRequest, format!("{key} must be a whole number.")))
}

/// Keeps the value of a parameter that may be given once. (`key` is one
/// of the fixed names matched above, never the client's own text.)
fn once<T>(key: &str, slot: &mut Option<T>, value: T) -> AppResult<()> {
    if slot.is_some() {
        return Err(AppError::bad_request(
            Code::InvalidRequest,
            format!("{key} may be given once."),
        ));
    }
    *slot = Some(value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RomSort;

    #[test]
    fn repeated_platform_ids_and_romm_names_are_read() {
        let query = rom_query(Some(
            "platform_ids=3&platform_ids=1&platform_id=2&search_term=Mario&order_by=fs_size_bytes&order_dir=desc&limit=10000&with_char_index=true",
        ))
        .expect("a query");
        assert_eq!(query.platform_ids, [3, 1, 2]);
        assert_eq!(query.search.as_deref(), Some("Mario"));
        assert_eq!((query.order.sort, query.order.descending), (RomSort::Size, true));
        assert_eq!(query.limit, Some(10_000));
        assert_eq!(rom_query(None).ok().map(|q| q.platform_ids.len()), Some(0));
    }

    proptest::proptest! {
        #[test]
        fn any_query_string_is_read_or_refused_never_a_panic(query in ".{0,200}") {
            let _ = rom_query(Some(&query));
        }

        #[test]
        fn what_a_client_encodes_is_what_is_read(
            ids in proptest::collection::vec(proptest::num::i64::ANY, 0..20),
            search in ".{0,40}",
            by in proptest::sample::select(vec!["name", "fs_name", "fs_size_bytes", "created_at", "updated_at", "id"]),
            descending in proptest::bool::ANY,
            limit in 1i64..20_000,
        ) {
            let mut encoded = url::form_urlencoded::Serializer::new(String::new());
            for id in &ids {
                encoded.append_pair("platform_ids", &id.to_string());
            }
            encoded.append_pair("search_term", &search);
            encoded.append_pair("order_by", by);
            encoded.append_pair("order_dir", if descending { "desc" } else { "asc" });
            encoded.append_pair("limit", &limit.to_string());
            let query = rom_query(Some(&encoded.finish())).expect("a valid query");
            proptest::prop_assert_eq!(query.platform_ids, ids);
            proptest::prop_assert_eq!(query.order.descending, descending);
            proptest::prop_assert_eq!(query.limit, Some(limit));
            let expected = (!search.trim().is_empty()).then_some(search);
            proptest::prop_assert_eq!(query.search, expected);
        }
    }

    #[test]
    fn bad_values_and_repeated_single_parameters_are_refused() {
        for bad in [
            "platform_ids=x",
            "limit=1&limit=2",
            "order_by=rating",
            "offset=",
            "order_dir=sideways",
        ] {
            assert!(rom_query(Some(bad)).is_err(), "{bad}");
        }
    }
}

//! Reading typed values out of rows: timestamps, enums and JSON stored as text.

use std::str::FromStr;

use moat_domain::{parse_time, Timestamp};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{Error, Result};

pub(crate) fn text(row: &AnyRow, col: &str) -> Result<String> {
    Ok(row.try_get::<String, _>(col)?)
}

pub(crate) fn opt_text(row: &AnyRow, col: &str) -> Result<Option<String>> {
    Ok(row.try_get::<Option<String>, _>(col)?)
}

pub(crate) fn int(row: &AnyRow, col: &str) -> Result<i64> {
    Ok(row.try_get::<i64, _>(col)?)
}

pub(crate) fn time(row: &AnyRow, col: &str) -> Result<Timestamp> {
    let s = text(row, col)?;
    parse_time(&s).map_err(|_| Error::Corrupt(format!("bad timestamp `{s}` in column `{col}`")))
}

pub(crate) fn opt_time(row: &AnyRow, col: &str) -> Result<Option<Timestamp>> {
    match opt_text(row, col)? {
        None => Ok(None),
        Some(s) => parse_time(&s)
            .map(Some)
            .map_err(|_| Error::Corrupt(format!("bad timestamp `{s}` in column `{col}`"))),
    }
}

pub(crate) fn parse<T: FromStr>(row: &AnyRow, col: &str) -> Result<T> {
    let s = text(row, col)?;
    s.parse()
        .map_err(|_| Error::Corrupt(format!("unexpected value `{s}` in column `{col}`")))
}

pub(crate) fn json<T: serde::de::DeserializeOwned>(row: &AnyRow, col: &str) -> Result<T> {
    let s = text(row, col)?;
    serde_json::from_str(&s).map_err(|_| Error::Corrupt(format!("bad JSON in column `{col}`")))
}

pub(crate) fn ts(t: Timestamp) -> String {
    moat_domain::format_time(t)
}

pub(crate) fn opt_ts(t: Option<Timestamp>) -> Option<String> {
    t.map(moat_domain::format_time)
}

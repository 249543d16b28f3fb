//! Spans of time as policies write them: `180d`, `12w`, `24h`.

/// `180d` -> 180 days; `12w`, `24h` likewise.
pub fn parse_age(text: &str) -> Result<chrono::TimeDelta, String> {
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let count: i64 = number
        .parse()
        .ok()
        .filter(|count| *count > 0 && *count <= 100_000)
        .ok_or_else(|| format!("{text:?} is not a count and a unit (180d, 12w, 24h)"))?;
    match unit {
        "h" => Ok(chrono::TimeDelta::hours(count)),
        "d" => Ok(chrono::TimeDelta::days(count)),
        "w" => Ok(chrono::TimeDelta::weeks(count)),
        _ => Err(format!(
            "{text:?} needs a unit: h (hours), d (days) or w (weeks)"
        )),
    }
}

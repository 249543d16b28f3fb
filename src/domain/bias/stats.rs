//! The statistics of an audit: counts' limits, rates' confidence intervals
//! and the exact test of a difference between two groups.

use statrs::function::erf::erfc;

/// Groups with fewer cases than this get a warning: their rate is noisy.
pub const SMALL_GROUP: u64 = 30;
/// z for a two-sided 95% interval.
pub(crate) const Z95: f64 = 1.959_963_984_540_054;
/// Above this many tables the exact test gives way to the normal approximation,
/// which is indistinguishable from it at such sizes.
pub(crate) const FISHER_MAX_TABLES: u64 = 200_000;

/// A whole number from a JSON integer or an integral float, in range for
/// `T`: for every integer field a client fills.
pub fn whole<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    struct Whole;
    impl serde::de::Visitor<'_> for Whole {
        type Value = u64;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a whole number, 0 or more")
        }
        fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<u64, E> {
            Ok(value)
        }
        fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<u64, E> {
            u64::try_from(value).map_err(|_| E::custom(format!("{value} is negative")))
        }
        fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<u64, E> {
            // 2^64 is the first float beyond u64.
            if value.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&value) {
                Ok(value as u64)
            } else {
                Err(E::custom(format!("{value} is not a whole number")))
            }
        }
    }
    let value = deserializer.deserialize_any(Whole)?;
    T::try_from(value).map_err(|_| serde::de::Error::custom(format!("{value} is too large")))
}

/// Caps counts so that sums of four of them can never overflow.
pub const MAX_GROUP_TOTAL: u64 = 1_000_000_000_000;

/// Rounds to three decimal places, as the ratio is reported.
pub fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// Wilson score interval at 95% for `positive` of `total` (total > 0).
pub fn wilson_interval(positive: u64, total: u64) -> (f64, f64) {
    let n = total as f64;
    let p = positive as f64 / n;
    let z2 = Z95 * Z95;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = Z95 / denominator * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Fisher's exact test, two-sided. Table probabilities are walked outward
/// from the mode by their ratio recurrence, relative to the mode's, so no
/// term needs a logarithm and none can overflow; terms that underflow to zero
/// end the walk (they cannot change the sum).
fn fisher_two_sided(a: u64, row1: u64, col1: u64, n: u64, low: u64, high: u64) -> f64 {
    let (r1, c1, n) = (row1 as f64, col1 as f64, n as f64);
    // P(x + 1) / P(x) for the hypergeometric distribution of the top-left cell.
    let up = |x: f64| (c1 - x) * (r1 - x) / ((x + 1.0) * (n - c1 - r1 + x + 1.0));
    let mode = (((row1 + 1) as f64 * (col1 + 1) as f64) / (n + 2.0)).floor() as u64;
    let mode = mode.clamp(low, high);
    let mut relative = vec![(mode, 1.0_f64)];
    let mut value = 1.0;
    for x in mode..high {
        value *= up(x as f64);
        if value < 1e-300 {
            break;
        }
        relative.push((x + 1, value));
    }
    value = 1.0;
    for x in (low..mode).rev() {
        value /= up(x as f64);
        if value < 1e-300 {
            break;
        }
        relative.push((x, value));
    }
    let observed = relative
        .iter()
        .find(|(x, _)| *x == a)
        .map_or(0.0, |(_, value)| *value);
    let total: f64 = relative.iter().map(|(_, value)| value).sum();
    // Tables as or less likely than the observed one, with a relative
    // tolerance for floating-point ties (as R's fisher.test does).
    let cutoff = observed * (1.0 + 1e-7);
    let as_extreme: f64 = relative
        .iter()
        .map(|(_, value)| *value)
        .filter(|value| *value <= cutoff)
        .sum();
    // An observed table too unlikely to register still has a p-value of
    // (nearly) zero rather than the sum of the whole tail.
    if observed == 0.0 {
        return 0.0;
    }
    (as_extreme / total).min(1.0)
}

/// Two-sided p-value for the 2x2 table `[[a, b], [c, d]]`: Fisher's exact
/// test for tables small enough to enumerate, else the pooled two-proportion
/// z-test.
pub fn two_sided_p_value(a: u64, b: u64, c: u64, d: u64) -> f64 {
    let row1 = a + b;
    let row2 = c + d;
    let col1 = a + c;
    let n = row1 + row2;
    if n == 0 || row1 == 0 || row2 == 0 {
        return 1.0;
    }
    let low = col1.saturating_sub(row2);
    let high = row1.min(col1);
    if high - low <= FISHER_MAX_TABLES {
        return fisher_two_sided(a, row1, col1, n, low, high);
    }
    let p1 = a as f64 / row1 as f64;
    let p2 = c as f64 / row2 as f64;
    let pooled = col1 as f64 / n as f64;
    let se = (pooled * (1.0 - pooled) * (1.0 / row1 as f64 + 1.0 / row2 as f64)).sqrt();
    if se == 0.0 {
        return 1.0;
    }
    let z = (p1 - p2).abs() / se;
    erfc(z / std::f64::consts::SQRT_2).min(1.0)
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    struct Count {
        #[serde(deserialize_with = "super::whole")]
        n: u64,
    }

    #[test]
    fn a_whole_number_written_as_a_float_reads_whole_however_large() {
        // serde_json's fast float parsing read this as ...247.3 once.
        let count: Count = serde_json::from_str(r#"{"n": 2251799813685247.0}"#).expect("whole");
        assert_eq!(count.n, 2_251_799_813_685_247);
        let refused = serde_json::from_str::<Count>(r#"{"n": 7.5}"#)
            .err()
            .map(|err| err.to_string())
            .unwrap_or_default();
        assert!(refused.contains("not a whole number"), "{refused}");
    }
}

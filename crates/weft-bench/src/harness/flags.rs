//! Reading the benchmarks' flag values, with messages naming the flag.

/// A positive integer.
pub fn count(flag: &str, value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{flag} must be a positive integer, not {value:?}")),
    }
}

/// A whole number, zero included.
pub fn whole(flag: &str, value: &str) -> Result<u64, String> {
    value
        .parse::<u64>()
        .map_err(|_| format!("{flag} must be a whole number, not {value:?}"))
}

/// A positive finite number.
pub fn positive(flag: &str, value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("{flag} must be a positive number, not {value:?}")),
    }
}

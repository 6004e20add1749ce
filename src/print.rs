//! Printing arrays the way NumPy does, so the examples print what the book prints.

use ndarray::{ArrayBase, Data, Dimension};

use crate::Float;

/// NumPy's default precision: up to 8 digits after the point.
const PRECISION: usize = 8;

/// Formats a vector or matrix as NumPy's `print` does: `[0.31682708 0.69627909]`.
///
/// Each value gets the decimals it needs, up to 8, padded with spaces to line up (NumPy's
/// `floatmode='maxprec'`); scientific notation where NumPy would use it. Arrays of more than
/// two axes print as their flattened values.
///
/// ```
/// use ndarray::array;
/// assert_eq!(mitbadak::print::numpy_str(&array![0.5, 0.25]), "[0.5  0.25]");
/// assert_eq!(mitbadak::print::numpy_str(&array![[1.0, -2.0], [3.0, 4.0]]), "[[ 1. -2.]\n [ 3.  4.]]");
/// assert_eq!(mitbadak::print::numpy_str(&array![0.5, 2e-5]), "[5.e-01 2.e-05]");
/// ```
pub fn numpy_str<T: Float, S: Data<Elem = T>, D: Dimension>(a: &ArrayBase<S, D>) -> String {
    let values: Vec<f64> = a.iter().map(|v| v.as_f64()).collect();
    let cells: Vec<String> = if needs_scientific(&values) {
        let digits = values.iter().map(|&v| mantissa_digits_needed(v)).max().unwrap_or(0);
        values.iter().map(|&v| scientific(v, digits)).collect()
    } else {
        // each value with the digits it needs, the fractions padded with spaces to one length
        let most = values.iter().map(|&v| decimals_needed(v)).max().unwrap_or(0);
        values
            .iter()
            .map(|&v| format!("{:<width$}", fixed(v, decimals_needed(v)), width = fixed(v, 0).len() + most))
            .collect()
    };
    let width = cells.iter().map(|c| c.len()).max().unwrap_or(0);
    let pad = |c: &String| format!("{c:>width$}");
    if a.ndim() == 2 {
        let cols = a.shape()[1].max(1);
        let rows: Vec<String> =
            cells.chunks(cols).map(|row| row.iter().map(pad).collect::<Vec<_>>().join(" ")).collect();
        format!("[[{}]]", rows.join("]\n ["))
    } else {
        format!("[{}]", cells.iter().map(pad).collect::<Vec<_>>().join(" "))
    }
}

/// NumPy's rule: scientific notation when a value is `>= 1e8`, or a nonzero one `< 1e-4`,
/// or the largest is more than 1000 times the smallest nonzero.
fn needs_scientific(values: &[f64]) -> bool {
    let finite_nonzero = values.iter().map(|v| v.abs()).filter(|v| v.is_finite() && *v > 0.0);
    let (min, max) = finite_nonzero.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    max >= 1e8 || (max > 0.0 && (min < 1e-4 || max / min > 1e3))
}

fn mantissa_digits_needed(v: f64) -> usize {
    let s = format!("{:.*e}", PRECISION, v.abs());
    let mantissa = s.split('e').next().unwrap_or("");
    mantissa.split('.').nth(1).unwrap_or("").trim_end_matches('0').len()
}

/// `4.53978686e-05`: NumPy writes the exponent with a sign and at least two digits.
fn scientific(v: f64, digits: usize) -> String {
    let s = format!("{v:.digits$e}");
    let (mantissa, exponent) = s.split_once('e').unwrap_or((&s, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let mantissa = if digits == 0 { format!("{mantissa}.") } else { mantissa.to_string() };
    format!("{mantissa}e{}{:02}", if exponent < 0 { '-' } else { '+' }, exponent.abs())
}

fn decimals_needed(v: f64) -> usize {
    let s = format!("{:.*}", PRECISION, v.abs());
    let fraction = s.split('.').nth(1).unwrap_or("");
    fraction.trim_end_matches('0').len()
}

fn fixed(v: f64, decimals: usize) -> String {
    if decimals == 0 { format!("{v:.0}.") } else { format!("{v:.decimals$}") }
}

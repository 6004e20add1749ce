//! The body of `POST /api/predict`: either a JSON array of 784 numbers in [0, 1] (28x28
//! pixels row by row, white digit on black, as MNIST), or a picture of a digit (PNG from the
//! page's canvas, or any format [`crate::preprocess`] reads), brought into MNIST's form.

use serde::Serialize;

use super::api_error::ApiError;
use crate::preprocess::{SIDE, decode_image, to_mnist};

/// What the page and the API say the body should be.
const EXPECTED: &str = "send a JSON array of 784 numbers in [0, 1] (28x28 pixels row by row, white on black), \
                        or a picture with Content-Type image/png";

/// An image in MNIST's form, read from a request.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictInput {
    /// 784 values in [0, 1], row by row, white digit on black.
    pub pixels: Vec<f32>,
    /// How a picture was read, when the body was one.
    pub picture: Option<PictureInfo>,
}

/// What was done to bring a picture into MNIST's form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PictureInfo {
    /// The picture's width in pixels.
    pub width: u32,
    /// The picture's height in pixels.
    pub height: u32,
    /// It was dark on light and has been inverted.
    pub inverted: bool,
    /// Its digit's box was scaled to 20x20 and centred by mass (false for a 28x28 picture).
    pub recentred: bool,
    /// Nothing was drawn on it.
    pub blank: bool,
}

/// Refuses (415) a body that says it is neither JSON nor a picture, or says nothing: the types a
/// web page may make a browser send to another site unasked (`text/plain`, forms) are not
/// taken, so that no page can use the server through its visitors' browsers.
pub fn check_type(content_type: Option<&str>) -> Result<(), ApiError> {
    let essence = content_type.map(|t| t.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some(t) if t == "application/json" || t.starts_with("image/") => Ok(()),
        given => Err(ApiError::unsupported_type(format!(
            "the body's Content-Type is {}: {EXPECTED}, or the array with Content-Type application/json",
            given.map_or("missing".to_string(), |t| format!("{t:?}"))
        ))),
    }
}

/// Reads a body: a picture when the content type is `image/...` or the bytes start as a
/// picture does, else JSON.
///
/// **Errors** (400 or 422) say what was wrong: an empty body, malformed JSON, JSON that is not
/// an array of numbers, a wrong count, a value outside [0, 1], a picture that cannot be read.
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<PredictInput, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request(format!("the body is empty: {EXPECTED}")));
    }
    let declared_picture =
        content_type.is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("image/"));
    if declared_picture || image::guess_format(body).is_ok() { picture(body) } else { pixels(body) }
}

fn picture(body: &[u8]) -> Result<PredictInput, ApiError> {
    let picture = decode_image(body).map_err(|e| ApiError::bad_request(format!("the body is {e}")))?;
    let input = to_mnist(&picture);
    let (width, height) = input.original_size;
    Ok(PredictInput {
        pixels: input.pixels,
        picture: Some(PictureInfo {
            width,
            height,
            inverted: input.inverted,
            recentred: input.recentred,
            blank: input.blank,
        }),
    })
}

fn pixels(body: &[u8]) -> Result<PredictInput, ApiError> {
    let values: Vec<f64> = serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            ApiError::unprocessable(format!("the JSON is not an array of numbers ({e}): {EXPECTED}"))
        }
        _ => ApiError::bad_request(format!("the body is not valid JSON ({e}): {EXPECTED}")),
    })?;
    let expected = SIDE * SIDE;
    if values.len() != expected {
        return Err(ApiError::unprocessable(format!(
            "expected {expected} numbers ({SIDE}x{SIDE} pixels row by row), got {}",
            values.len()
        )));
    }
    let outside: Vec<(usize, f64)> =
        values.iter().copied().enumerate().filter(|(_, v)| !(0.0..=1.0).contains(v)).collect();
    if let Some(&(index, value)) = outside.first() {
        return Err(ApiError::unprocessable(format!(
            "values outside [0, 1]: {}, the first at index {index} ({value}); pixels go from 0 (black) to 1 (white)",
            outside.len()
        )));
    }
    Ok(PredictInput { pixels: values.into_iter().map(|v| v as f32).collect(), picture: None })
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;
    use crate::preprocess::MAX_PICTURE_SIDE;

    fn json_of(values: &[f64]) -> Vec<u8> {
        serde_json::to_vec(values).unwrap()
    }

    #[test]
    fn an_array_of_784_values_in_the_unit_interval_is_taken_as_it_is() {
        let values: Vec<f64> = (0..784).map(|i| i as f64 / 783.0).collect();
        let input = parse(Some("application/json"), &json_of(&values)).unwrap();
        assert_eq!(input.pixels.len(), 784);
        assert_eq!((input.pixels[0], input.pixels[783]), (0.0, 1.0));
        assert_eq!(input.picture, None);
    }

    #[test]
    fn each_bad_array_is_named() {
        let check = |body: &[u8], status: StatusCode, says: &str| {
            let e = parse(None, body).unwrap_err();
            assert_eq!(e.status, status, "{}", e.message);
            assert!(e.message.contains(says), "{:?} should say {says:?}", e.message);
        };
        check(b"", StatusCode::BAD_REQUEST, "the body is empty");
        check(b"[0.5, 0.2", StatusCode::BAD_REQUEST, "not valid JSON (EOF while parsing a list");
        check(br#"{"pixels": []}"#, StatusCode::UNPROCESSABLE_ENTITY, "not an array of numbers");
        check(
            &json_of(&[0.5; 783]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "expected 784 numbers (28x28 pixels row by row), got 783",
        );
        let mut values = vec![0.5; 784];
        values[12] = 1.5;
        values[700] = -0.25;
        check(
            &json_of(&values),
            StatusCode::UNPROCESSABLE_ENTITY,
            "values outside [0, 1]: 2, the first at index 12 (1.5)",
        );
    }

    #[test]
    fn a_picture_is_recognised_by_type_or_by_its_bytes_and_preprocessed() {
        let mut picture = image::GrayImage::new(56, 56);
        for y in 10..40 {
            picture.put_pixel(30, y, image::Luma([255]));
        }
        let mut png = Vec::new();
        picture.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        for content_type in [Some("image/png"), None, Some("application/octet-stream")] {
            let input = parse(content_type, &png).unwrap();
            let info = input.picture.unwrap();
            assert_eq!(
                (info.width, info.height, info.inverted, info.recentred, info.blank),
                (56, 56, false, true, false)
            );
            assert_eq!(input.pixels.len(), 784);
            // the stroke's 30 rows are scaled to 20, centred on row 14
            let rows_with_ink =
                (0..28).filter(|r| input.pixels[r * 28..(r + 1) * 28].iter().any(|&p| p > 0.1)).count();
            assert_eq!(rows_with_ink, 20);
        }
    }

    #[test]
    fn only_json_and_pictures_are_taken() {
        for taken in ["application/json", "Application/JSON; charset=utf-8", "image/png", "image/jpeg"] {
            assert_eq!(check_type(Some(taken)), Ok(()), "{taken}");
        }
        for refused in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
            let e = check_type(refused).unwrap_err();
            assert_eq!(e.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{refused:?}");
        }
        let e = check_type(Some("text/plain;charset=UTF-8")).unwrap_err();
        assert!(
            e.message.starts_with("the body's Content-Type is \"text/plain\": send a JSON array"),
            "{}",
            e.message
        );
    }

    #[test]
    fn an_unreadable_or_huge_picture_is_refused() {
        let e = parse(Some("image/png"), b"\x89PNG\r\n\x1a\n not really").unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.message.starts_with("the body is not a picture that can be read"), "{}", e.message);
        let mut png = Vec::new();
        image::GrayImage::new(MAX_PICTURE_SIDE + 1, 1)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let e = parse(Some("image/png"), &png).unwrap_err();
        assert!(e.message.contains("use one of at most 4096x4096 pixels"), "{}", e.message);
    }
}

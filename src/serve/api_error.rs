//! The API's errors: an HTTP status and a message saying what was wrong and what to send
//! instead, answered as `{"error": "..."}`.

use axum::Json;
use axum::http::header::CONNECTION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// A request the API cannot answer, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The status: 400 for a body that cannot be read, 404, 405, 413 for a body over the
    /// limit, 422 for one that reads but is not a digit (wrong length, values out of range);
    /// 403, 408, 415 and 503 for a request the server does not take (see each constructor).
    pub status: StatusCode,
    /// What was wrong and what to do.
    pub message: String,
}

impl ApiError {
    /// 400: the body cannot be read (malformed JSON, an unreadable picture).
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError { status: StatusCode::BAD_REQUEST, message: message.into() }
    }

    /// 422: the body reads, but is not what the route takes.
    pub fn unprocessable(message: impl Into<String>) -> ApiError {
        ApiError { status: StatusCode::UNPROCESSABLE_ENTITY, message: message.into() }
    }

    /// 413: the body is over [`super::MAX_BODY_BYTES`].
    pub fn too_large(message: impl Into<String>) -> ApiError {
        ApiError { status: StatusCode::PAYLOAD_TOO_LARGE, message: message.into() }
    }

    /// 404: no such route or file.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError { status: StatusCode::NOT_FOUND, message: message.into() }
    }

    /// 405: the route exists, but not for this method.
    pub fn method_not_allowed(message: impl Into<String>) -> ApiError {
        ApiError { status: StatusCode::METHOD_NOT_ALLOWED, message: message.into() }
    }

    /// 408: the body did not arrive in time.
    pub fn timeout(message: impl Into<String>) -> ApiError {
        ApiError { status: StatusCode::REQUEST_TIMEOUT, message: message.into() }
    }

    /// 403: the request names another host than this server (DNS rebinding).
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError { status: StatusCode::FORBIDDEN, message: message.into() }
    }

    /// 415: the body's type is not one the route takes.
    pub fn unsupported_type(message: impl Into<String>) -> ApiError {
        ApiError { status: StatusCode::UNSUPPORTED_MEDIA_TYPE, message: message.into() }
    }

    /// 503: the server is at its limits for now; the request may be sent again.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError { status: StatusCode::SERVICE_UNAVAILABLE, message: message.into() }
    }

    /// 500: the server failed; not the request's fault.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError { status: StatusCode::INTERNAL_SERVER_ERROR, message: message.into() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(serde_json::json!({ "error": self.message }))).into_response();
        if matches!(
            self.status,
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE
        ) {
            // the rest of the body stays unread: the connection cannot carry another request
            response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

//! The `Host` check, against DNS rebinding: a web page whose name is made to point at this
//! machine could otherwise read the API from a browser. A request must name the server by an
//! IP address or `localhost` (which no stranger's name resolves to), or by a name it was told
//! to take.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::HOST;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::api_error::ApiError;

/// Whether a `Host` header (`127.0.0.1:8080`, `[::1]:8080`, `localhost`, `example.org`) names
/// this server: an IP address, `localhost`, or one of `allowed` (`*` takes any).
pub fn host_is_allowed(host: &str, allowed: &[String]) -> bool {
    let name = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host
            .rsplit_once(':')
            .map_or(host, |(name, port)| if port.chars().all(|c| c.is_ascii_digit()) { name } else { host }),
    };
    name.parse::<IpAddr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || allowed.iter().any(|a| a == "*" || a.eq_ignore_ascii_case(name))
}

/// Refuses (403) a request whose `Host` names another server; a request without one (HTTP/1.0)
/// comes from no browser, and passes.
pub async fn check_host(State(allowed): State<Arc<Vec<String>>>, request: Request, next: Next) -> Response {
    let host = request.headers().get(HOST).map(|h| h.to_str().unwrap_or("?"));
    match host {
        Some(host) if !host_is_allowed(host, &allowed) => ApiError::forbidden(format!(
            "this server does not answer for the host {host:?}: name it by its address (127.0.0.1), \
             or start it with --allow-host {}",
            host.rsplit_once(':').map_or(host, |(name, _)| name)
        ))
        .into_response(),
        _ => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::host_is_allowed;

    #[test]
    fn addresses_and_localhost_pass_other_names_only_when_allowed() {
        for host in ["127.0.0.1:8080", "127.0.0.1", "[::1]:8080", "192.168.1.20:80", "LOCALHOST:8080"] {
            assert!(host_is_allowed(host, &[]), "{host}");
        }
        for host in ["evil.example:8080", "localhost.evil.example", "127.0.0.1.nip.io:8080", ""] {
            assert!(!host_is_allowed(host, &[]), "{host}");
        }
        assert!(host_is_allowed("digits.lan:8080", &["digits.lan".into()]));
        assert!(host_is_allowed("anything:1", &["*".into()]));
    }
}

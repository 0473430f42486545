//! The HTTP client every integration shares, and the checks of a configured address.

use std::time::Duration;

/// A client: a 5-second connect timeout, `overall` for a whole call, statuses returned rather
/// than raised (each caller reads the answer's body for the service's own error).
pub fn agent(overall: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(5)))
        .timeout_global(Some(overall))
        .http_status_as_error(false)
        .build()
        .into()
}

/// `http://` or `https://`: the address of a service that carries no secret in clear.
pub fn check_url(what: &str, url: &str) -> Result<(), String> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(format!(
            "the {what} address must start with https:// or http://"
        ))
    }
}

/// HTTPS, or plain HTTP to this machine only (a local relay or a test): what carries a
/// secret must not cross a network in clear.
pub fn check_secure_url(what: &str, url: &str) -> Result<(), String> {
    let local = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| url.starts_with(p));
    if url.starts_with("https://") || local {
        Ok(())
    } else {
        Err(format!("the {what} address must start with https://"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_crosses_a_network_in_clear() {
        assert!(check_secure_url("x", "https://api.weixin.qq.com").is_ok());
        assert!(check_secure_url("x", "http://127.0.0.1:9000").is_ok());
        assert!(check_secure_url("x", "http://wx-relay.county").is_err());
        assert!(check_url("x", "http://192.168.1.20/sms").is_ok());
        assert!(check_url("x", "ftp://x").is_err());
    }
}

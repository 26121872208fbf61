//! How a device reaches its hub: directly, or only through a SOCKS5 proxy (Tor).

use serde::{Deserialize, Serialize};

/// How the device reaches its hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Route {
    /// A direct TCP connection.
    Direct,
    /// Through a SOCKS5 proxy (e.g. Tor at 127.0.0.1:9050); the proxy resolves the hub's
    /// name. When the proxy is down the sync fails: never a direct attempt.
    Socks5 {
        /// The proxy, `host:port`.
        proxy: String,
    },
}

impl Route {
    /// Reads `direct` or `socks5:HOST:PORT` / `socks5://HOST:PORT`.
    pub fn parse(text: &str) -> Result<Route, String> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("direct") {
            return Ok(Route::Direct);
        }
        let proxy = t
            .strip_prefix("socks5://")
            .or_else(|| t.strip_prefix("socks5:"))
            .ok_or_else(|| format!("'{t}': the route is 'direct' or 'socks5:HOST:PORT'"))?;
        if proxy
            .rsplit_once(':')
            .and_then(|(h, p)| (!h.is_empty()).then_some(p))
            .and_then(|p| p.parse::<u16>().ok())
            .is_none()
        {
            return Err(format!("'{proxy}': the proxy needs a host and a port"));
        }
        Ok(Route::Socks5 {
            proxy: proxy.to_owned(),
        })
    }
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Route::Direct => write!(f, "direct"),
            Route::Socks5 { proxy } => write!(f, "socks5:{proxy}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse() {
        assert_eq!(Route::parse("direct").unwrap(), Route::Direct);
        assert_eq!(
            Route::parse("socks5:127.0.0.1:9050").unwrap(),
            Route::Socks5 {
                proxy: "127.0.0.1:9050".into()
            }
        );
        assert_eq!(
            Route::parse("socks5://localhost:9150").unwrap().to_string(),
            "socks5:localhost:9150"
        );
        assert!(Route::parse("socks5:9050").is_err());
        assert!(Route::parse("http://x:1").is_err());
    }
}

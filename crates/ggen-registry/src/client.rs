//! Who a request comes from: the address rate limits, connection caps and
//! A/B buckets key on.
//!
//! Behind a reverse proxy every request arrives from the proxy, so the client
//! is in `X-Forwarded-For`. That header is whatever the sender wrote, so it is
//! believed only from a peer listed as a trusted proxy
//! (`--trusted-proxy CIDR`), and then read from the right: each trusted proxy
//! appends the address it saw, so the rightmost address that is not a trusted
//! proxy is the client. From any other peer the header is ignored, and a
//! client cannot pick its own rate-limit key.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use crate::AppState;

/// The networks whose peers may name the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses `10.0.0.0/8`, `::1`, `192.168.1.7` (a bare address is one host).
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in items {
            let text = item.as_ref().trim();
            let net = text
                .parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    format!(
                        "`{text}` is not an IP network like 10.0.0.0/8 or an address like 127.0.0.1"
                    )
                })?;
            nets.push(net);
        }
        Ok(Self(nets))
    }

    /// Whether `ip` is in one of the trusted networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// Whether no proxy is trusted (the default).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The client behind `peer`, given the request's `X-Forwarded-For` values.
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded_for
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                // A malformed hop: nothing left of it can be trusted.
                break;
            };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }
}

/// The client address of a request, set by [`identify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Puts the request's [`ClientAddr`] into its extensions.
pub async fn identify(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: Request,
    next: Next,
) -> Response {
    let values: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let client = state.options.trusted_proxies.client(peer.ip(), &values);
    req.extensions_mut().insert(ClientAddr(client));
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8", "192.168.1.7"]).unwrap();
        // An untrusted peer cannot name another client.
        assert_eq!(
            proxies.client(ip("203.0.113.9"), &["1.2.3.4"]),
            ip("203.0.113.9")
        );
        // A trusted proxy: the rightmost untrusted hop is the client, whatever
        // the client wrote to the left of it.
        assert_eq!(
            proxies.client(ip("10.1.1.1"), &["6.6.6.6, 198.51.100.4, 10.2.2.2"]),
            ip("198.51.100.4")
        );
        assert_eq!(
            proxies.client(ip("192.168.1.7"), &["198.51.100.4"]),
            ip("198.51.100.4")
        );
        // No header, or garbage in it: the proxy itself.
        assert_eq!(proxies.client(ip("10.1.1.1"), &[]), ip("10.1.1.1"));
        assert_eq!(
            proxies.client(ip("10.1.1.1"), &["not-an-ip"]),
            ip("10.1.1.1")
        );
        // Several header lines read as one list.
        assert_eq!(
            proxies.client(ip("10.1.1.1"), &["6.6.6.6", "198.51.100.4"]),
            ip("198.51.100.4")
        );
        assert!(TrustedProxies::parse(&["10.0.0.0/33"]).is_err());
        assert!(TrustedProxies::parse(&["proxy.example"]).is_err());
        assert!(TrustedProxies::default().is_empty());
    }
}

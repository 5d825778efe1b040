//! The client's network address, for the per-address login limit.
//!
//! The peer address of the connection (axum's `ConnectInfo`, present when
//! the server is run with `into_make_service_with_connect_info`, as
//! `sync-server serve` and [`crate::local::spawn`] do). Behind reverse
//! proxies the peer is the proxy, so with [`crate::Limits::trusted_proxies`]
//! = N the client is the N-th entry from the right of `X-Forwarded-For`:
//! each trusted proxy appends the address it saw, so the entries further
//! left came from the client itself and prove nothing. A header shorter
//! than N (a request that did not pass every proxy) falls back to the peer.
//!
//! Addresses are counted as keys: an IPv4 address, or an IPv6 address's
//! /64 prefix (one host usually holds a whole /64, so counting single IPv6
//! addresses would let it rotate through them). IPv4-mapped IPv6 addresses
//! count as their IPv4 address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;

use crate::error::ServerError;
use crate::AppState;

/// The key failed logins are counted under when no address is known (a
/// router called without connection info): every such request shares it.
pub const UNKNOWN: &str = "unknown";

/// The client's address key for rate limiting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub String);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ServerError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let ip = client_ip(peer, &parts.headers, state.limits.trusted_proxies);
        Ok(ClientAddr(ip.map(key).unwrap_or_else(|| UNKNOWN.into())))
    }
}

/// The client's IP: the peer, or with `trusted_proxies` > 0 the entry of
/// `X-Forwarded-For` the outermost trusted proxy wrote.
pub fn client_ip(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted_proxies: usize,
) -> Option<IpAddr> {
    if trusted_proxies == 0 {
        return peer;
    }
    // Several header lines are one list, in order.
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    if entries.len() < trusted_proxies {
        return peer;
    }
    parse_entry(entries[entries.len() - trusted_proxies]).or(peer)
}

/// One `X-Forwarded-For` entry: an address, possibly with a port
/// (`1.2.3.4:80`, `[2001:db8::1]:80`).
fn parse_entry(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

/// The counting key of an address: IPv4 as is, IPv6 by its /64.
pub fn key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn the_header_is_ignored_unless_proxies_are_trusted() {
        let peer: IpAddr = "10.0.0.9".parse().expect("ip");
        let h = headers(&["6.6.6.6"]);
        assert_eq!(client_ip(Some(peer), &h, 0), Some(peer));
        assert_eq!(client_ip(None, &h, 0), None);
    }

    #[test]
    fn the_client_is_the_entry_the_outermost_trusted_proxy_wrote() {
        let peer: IpAddr = "10.0.0.9".parse().expect("ip");
        // The client sent a made-up entry; our one proxy appended the real one.
        let h = headers(&["6.6.6.6, 203.0.113.7"]);
        assert_eq!(client_ip(Some(peer), &h, 1), "203.0.113.7".parse().ok());
        // Two proxies, the header split over two lines, ports attached.
        let h = headers(&["6.6.6.6, 203.0.113.7:5555", "10.0.0.2"]);
        assert_eq!(client_ip(Some(peer), &h, 2), "203.0.113.7".parse().ok());
        // Fewer entries than proxies, or garbage: the peer.
        assert_eq!(client_ip(Some(peer), &headers(&[]), 1), Some(peer));
        assert_eq!(
            client_ip(Some(peer), &headers(&["nonsense"]), 1),
            Some(peer)
        );
        assert_eq!(
            client_ip(Some(peer), &headers(&["[2001:db8::1]:80"]), 1),
            "2001:db8::1".parse().ok()
        );
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(key(a), key(b));
        assert_ne!(key(a), key(c));
        assert_eq!(key("::ffff:192.0.2.1".parse().expect("ip")), "192.0.2.1");
        assert_eq!(key("192.0.2.1".parse().expect("ip")), "192.0.2.1");
    }
}

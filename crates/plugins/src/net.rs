//! `http`: requests to the origins a plugin declared, and nowhere else.
//!
//! Guards, in order: the URL must be `https://` and its origin granted
//! (`net:https://host[:port]`); no credentials in the URL; the host is
//! resolved here (with a deadline) and every address it resolves to is
//! checked: loopback, private, link-local, carrier-grade NAT, multicast,
//! unspecified and other special ranges are refused unless an admin allowed
//! private networks; the connection is then pinned to a checked address (so
//! a second DNS answer cannot swap in another, "DNS rebinding"); redirects
//! are not followed; each request has a timeout cut to the invocation's
//! deadline; bodies are capped; requests per invocation are capped.
//!
//! In a rehearsal (a dry run) the same permission checks are made and the
//! request is recorded, never sent.

use std::io::Read as _;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rhai::{Dynamic, Engine, FuncRegistration, Map, Module};

use crate::host::{fail, with_inv, HostResult};
use crate::sandbox::ErrorKind;

/// Whether an address is one a plugin may not reach by default.
pub fn is_restricted(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10 (CGNAT)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24
                || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18.0.0/15
                || o[0] >= 240 // reserved
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_restricted(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (seg[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (seg[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
                || seg[0] == 0x2002 // 6to4 (embeds an IPv4 address)
                || (seg[0] == 0x2001 && seg[1] == 0) // Teredo
                || (seg[0..4] == [0, 0, 0, 0] && seg[4] == 0xffff && seg[5] == 0) // IPv4-translated
                || (seg[0] == 0x64 && seg[1] == 0xff9b) // NAT64 (embeds IPv4)
                || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
                || (seg[0] == 0 && seg[1] == 0 && seg[2] == 0 && seg[3] == 0 && seg[4] == 0 && seg[5] == 0)
            // IPv4-compatible
        }
    }
}

struct Target {
    url: url::Url,
    host: String,
    addr: SocketAddr,
}

fn remaining() -> HostResult<(Duration, usize, bool, Option<String>)> {
    with_inv(|inv| {
        if inv.requests >= inv.limits.max_requests {
            return Err(fail(
                ErrorKind::Limit,
                format!(
                    "this invocation has made {} network requests, the most it may",
                    inv.requests
                ),
            ));
        }
        inv.requests += 1;
        let left = inv.deadline.saturating_duration_since(Instant::now());
        Ok((
            left.min(inv.limits.request_timeout),
            inv.limits.max_response,
            inv.ctx.services.allow_private_network,
            inv.ctx.services.extra_root_pem.clone(),
        ))
    })
}

/// Resolve with a deadline: `getaddrinfo` itself cannot be cancelled, so it
/// runs on a helper thread that is abandoned if it overruns.
fn resolve(host: &str, port: u16, wait: Duration) -> HostResult<Vec<SocketAddr>> {
    let (tx, rx) = mpsc::sync_channel(1);
    let name = host.to_string();
    std::thread::Builder::new()
        .name("plugin-dns".into())
        .spawn(move || {
            let r = (name.as_str(), port)
                .to_socket_addrs()
                .map(|a| a.collect::<Vec<_>>());
            let _ = tx.send(r);
        })
        .map_err(|e| fail(ErrorKind::Internal, format!("cannot resolve: {e}")))?;
    match rx.recv_timeout(wait) {
        Ok(Ok(a)) if !a.is_empty() => Ok(a),
        Ok(Ok(_)) => Err(fail(ErrorKind::Runtime, format!("{host} has no address"))),
        Ok(Err(e)) => Err(fail(
            ErrorKind::Runtime,
            format!("cannot resolve {host}: {e}"),
        )),
        Err(_) => Err(fail(
            ErrorKind::Timeout,
            format!("resolving {host} took too long"),
        )),
    }
}

/// A URL a script may reach: https, no credentials, its origin granted.
/// Returns the URL, its host and port.
fn allowed(raw: &str) -> HostResult<(url::Url, String, u16)> {
    let url = url::Url::parse(raw)
        .map_err(|e| fail(ErrorKind::Runtime, format!("{raw:?} is not a URL: {e}")))?;
    if url.scheme() != "https" {
        return Err(fail(
            ErrorKind::Permission,
            format!("{raw:?}: plugins may only use https:// URLs"),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(fail(
            ErrorKind::Permission,
            format!("{raw:?}: credentials in URLs are refused"),
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| fail(ErrorKind::Runtime, format!("{raw:?} has no host")))?
        .to_ascii_lowercase();
    let port = url.port_or_known_default().unwrap_or(443);
    let origin = if port == 443 {
        format!("https://{host}")
    } else {
        format!("https://{host}:{port}")
    };
    let granted = with_inv(|inv| {
        Ok(inv.ctx.grants.contains(&format!("net:{origin}"))
            || (port == 443 && inv.ctx.grants.contains(&format!("net:{origin}:443"))))
    })?;
    if !granted {
        return Err(fail(
            ErrorKind::Permission,
            format!("this script may not reach {origin}: it needs the permission net:{origin}, which was not granted"),
        ));
    }
    Ok((url, host, port))
}

fn check(raw: &str, wait: Duration, allow_private: bool) -> HostResult<Target> {
    let (url, host, port) = allowed(raw)?;
    // What a script tells the outside world comes after its writes.
    crate::host::settle()?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => resolve(bare, port, wait)?,
    };
    if !allow_private {
        if let Some(bad) = addrs.iter().find(|a| is_restricted(a.ip())) {
            return Err(fail(
                ErrorKind::Permission,
                format!(
                    "{host} resolves to {}, a loopback, private or otherwise special address; plugins may not reach those unless an admin allows private networks",
                    bad.ip()
                ),
            ));
        }
    }
    Ok(Target {
        url,
        host: bare.to_string(),
        addr: addrs[0],
    })
}

/// The URL as messages and records show it: without its query and
/// fragment (tokens often live there).
fn shown(url: &url::Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// In a rehearsal (a dry run), record the request instead of sending it;
/// the script sees a successful, empty answer marked `dry_run`. The
/// permission is checked as for a real request; nothing is resolved.
fn rehearse(method: &str, raw: &str, body: &Option<String>) -> HostResult<Option<Map>> {
    if with_inv(|inv| Ok(inv.ctx.services.rehearsal.is_none()))? {
        return Ok(None);
    }
    let (url, _, _) = allowed(raw)?;
    crate::host::settle()?;
    with_inv(|inv| {
        inv.recorded.push(crate::sandbox::RecordedRequest {
            method: method.to_string(),
            url: shown(&url),
            body: body.clone(),
        });
        Ok(())
    })?;
    let mut out = Map::new();
    out.insert("status".into(), Dynamic::from(200_i64));
    out.insert("body".into(), Dynamic::from(String::new()));
    out.insert("dry_run".into(), Dynamic::from(true));
    Ok(Some(out))
}

fn send(method: &str, raw: &str, body: Option<String>) -> HostResult<Map> {
    let (wait, cap, allow_private, extra_roots) = remaining()?;
    if let Some(answer) = rehearse(method, raw, &body)? {
        return Ok(answer);
    }
    if wait.is_zero() {
        return Err(fail(ErrorKind::Timeout, "no time left for a request"));
    }
    let started = Instant::now();
    let t = check(raw, wait, allow_private)?;
    let wait = wait.saturating_sub(started.elapsed());
    let deadline = Instant::now() + wait;
    let mut builder = reqwest::blocking::Client::builder();
    if let Some(pem) = &extra_roots {
        let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
            fail(
                ErrorKind::Internal,
                format!("the tenant's extra certificate authority is not valid PEM: {e}"),
            )
        })?;
        for c in certs {
            builder = builder.add_root_certificate(c);
        }
    }
    let client = builder
        .resolve(&t.host, t.addr)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(wait)
        .connect_timeout(wait)
        .https_only(true)
        .no_proxy()
        .build()
        .map_err(|e| fail(ErrorKind::Internal, format!("http client: {e}")))?;
    let req = match method {
        "POST" => client
            .post(t.url.clone())
            .header("content-type", "application/json")
            .body(body.unwrap_or_default()),
        _ => client.get(t.url.clone()),
    };
    // Messages name the URL without its query (tokens often live there):
    // they reach run history and logs.
    let shown = shown(&t.url);
    let resp = req.send().map_err(|e| {
        if e.is_timeout() {
            fail(
                ErrorKind::Timeout,
                format!("{shown}: no answer within {} ms", wait.as_millis()),
            )
        } else {
            fail(
                ErrorKind::Runtime,
                format!("{shown}: {}", chain(&e.without_url())),
            )
        }
    })?;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    // The client's timeout covers each read, not the whole body: read in
    // chunks against the absolute deadline, so a server trickling a byte at
    // a time cannot hold the worker long past it.
    let mut buf = Vec::new();
    let mut resp = resp;
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if Instant::now() > deadline {
            return Err(fail(
                ErrorKind::Timeout,
                format!(
                    "{shown}: the answer did not arrive within {} ms",
                    wait.as_millis()
                ),
            ));
        }
        let n = resp.read(&mut chunk).map_err(|e| {
            // A body that stops coming ends in the client's own timeout,
            // which reaches here wrapped as a decoding error.
            let timed_out = e.kind() == std::io::ErrorKind::TimedOut
                || e.get_ref()
                    .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
                    .is_some_and(|r| r.is_timeout())
                || Instant::now() >= deadline;
            if timed_out {
                fail(
                    ErrorKind::Timeout,
                    format!(
                        "{shown}: the answer did not arrive within {} ms",
                        wait.as_millis()
                    ),
                )
            } else {
                fail(
                    ErrorKind::Runtime,
                    format!("{shown}: reading the answer: {e}"),
                )
            }
        })?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > cap {
            return Err(fail(
                ErrorKind::Limit,
                format!("{shown}: the answer is over the {cap} byte limit"),
            ));
        }
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let mut out = Map::new();
    out.insert("status".into(), Dynamic::from(status as i64));
    if content_type.contains("json") {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
            out.insert("json".into(), rhai::serde::to_dynamic(&v)?);
        }
    }
    out.insert("body".into(), Dynamic::from(text));
    Ok(out)
}

/// An error with its causes ("error sending request: … invalid peer
/// certificate: UnknownIssuer"), so the user learns why.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let s = c.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = c.source();
    }
    out
}

/// Register the `http` module.
pub(crate) fn register(engine: &mut Engine) {
    let mut m = Module::new();
    FuncRegistration::new("get")
        .with_volatility(true)
        .with_params_info(["url: &str", "Map"])
        .with_comments(["/// GET an https URL on a declared origin. Returns `#{status, body, json}` (`json` when the answer is JSON). Redirects are not followed. Needs net:https://host."])
        .set_into_module(&mut m, |url: &str| -> HostResult<Map> {
            send("GET", url, None)
        });
    FuncRegistration::new("post")
        .with_volatility(true)
        .with_params_info(["url: &str", "body: Dynamic", "Map"])
        .with_comments(["/// POST a value as JSON to an https URL on a declared origin. Returns `#{status, body, json}`. Needs net:https://host."])
        .set_into_module(&mut m, |url: &str, body: Dynamic| -> HostResult<Map> {
            let json: serde_json::Value = rhai::serde::from_dynamic(&body)?;
            send("POST", url, Some(json.to_string()))
        });
    engine.register_static_module("http", m.into());
}

//! Hearing from the server that changes wait: its `/v1/events` stream of
//! server-sent events, read line by line on a blocking connection.
//!
//! A notice only says "pull now"; what changed still comes by the usual
//! pull, so a lost notice costs time, never data. The caller pulls when the
//! stream opens ([`Notice::Ready`]: anything committed before it is in that
//! pull) and at each [`Notice::Changed`].

use std::io::{BufRead, BufReader};
use std::time::Duration;

use reqwest::blocking::Client;

use crate::{refused, Connection, SyncError};

/// How long the stream may stay silent before the connection counts as
/// dead: three of the server's keep-alive comments (15 s apart) missed.
pub const SILENCE: Duration = Duration::from_secs(45);

/// What the stream said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// The stream is open: pull now to catch up.
    Ready,
    /// Changes in this device's view are waiting, up to this change number
    /// (`None`: the server cannot say; pull anyway).
    Changed(Option<i64>),
    /// A keep-alive: nothing happened, the connection is alive.
    Alive,
}

impl Connection {
    /// Open the event stream and hand each notice to `on` until the server
    /// ends the stream (it does every ten minutes or so: call again), `on`
    /// returns `false`, or the connection fails ([`SyncError::Offline`]: the
    /// server is away; try again later).
    pub fn listen(&self, token: &str, mut on: impl FnMut(Notice) -> bool) -> Result<(), SyncError> {
        // A client of its own: no overall deadline on a response that lasts
        // minutes, only on each read.
        let http = Client::builder()
            .connect_timeout(self.opts.timeout)
            .timeout(SILENCE)
            .build()
            .map_err(|e| SyncError::Offline(e.to_string()))?;
        let url = format!("{}/v1/events", self.base);
        let resp = http
            .get(&url)
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send()
            .map_err(|e| SyncError::Offline(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(refused(resp));
        }
        let mut lines = BufReader::new(resp);
        let mut kind = String::new();
        let mut data = String::new();
        let mut line = String::new();
        loop {
            line.clear();
            let n = lines
                .read_line(&mut line)
                .map_err(|e| SyncError::Offline(format!("the event stream broke: {e}")))?;
            if n == 0 {
                return Ok(());
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                // The end of one event.
                let notice = match kind.as_str() {
                    "ready" => Some(Notice::Ready),
                    "changed" => Some(Notice::Changed(seq_of(&data))),
                    _ => None,
                };
                kind.clear();
                data.clear();
                if let Some(notice) = notice {
                    if !on(notice) {
                        return Ok(());
                    }
                }
            } else if line.starts_with(':') {
                if !on(Notice::Alive) {
                    return Ok(());
                }
            } else if let Some(v) = line.strip_prefix("event:") {
                kind = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim());
            }
        }
    }
}

fn seq_of(data: &str) -> Option<i64> {
    serde_json::from_str::<serde_json::Value>(data)
        .ok()?
        .get("seq")?
        .as_i64()
}

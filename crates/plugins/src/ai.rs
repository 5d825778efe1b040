//! `ai`: a language model behind an OpenAI-compatible endpoint
//! (`POST {endpoint}/chat/completions`), configured by the user, not by the
//! plugin: the endpoint (which may be a local model server), the model and
//! the API key live in the profile's encrypted settings. Scripts need
//! `ai:use`; each request counts against the invocation's request cap, is cut
//! to its deadline and has its answer size capped.

use std::io::Read;
use std::time::{Duration, Instant};

use rhai::{Array, Engine, FuncRegistration, Module};
use serde::{Deserialize, Serialize};

use crate::host::{fail, need, with_inv, HostResult};
use crate::sandbox::ErrorKind;

/// Where the model is. The key is never printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AiConfig {
    /// Base URL, e.g. `https://api.openai.com/v1` or `http://localhost:11434/v1`.
    pub endpoint: String,
    /// Model name.
    pub model: String,
    /// Bearer token, if the endpoint needs one.
    pub api_key: Option<String>,
}

impl std::fmt::Debug for AiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AiConfig")
            .field("endpoint", &self.endpoint)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "(set)"))
            .finish()
    }
}

impl AiConfig {
    /// Read from the profile's settings ([`crm_core::Store::ai_settings`]);
    /// `None` when no endpoint is set.
    pub fn from_store(store: &crm_core::Store) -> crm_core::Result<Option<AiConfig>> {
        let ai = store.ai_settings()?;
        Ok(ai.endpoint.map(|endpoint| AiConfig {
            endpoint,
            model: ai.model,
            api_key: ai.api_key,
        }))
    }
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: Vec<Message<'a>>,
    temperature: f32,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'a str,
    content: &'a str,
}

#[derive(Deserialize)]
struct ChatResponse {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    content: Option<String>,
}

/// Longest prompt sent, bytes.
const MAX_PROMPT: usize = 32 * 1024;

/// One chat completion. Errors name what went wrong in words a user can act on.
pub fn complete(
    cfg: &AiConfig,
    system: &str,
    prompt: &str,
    wait: Duration,
    cap: usize,
) -> Result<String, (ErrorKind, String)> {
    let url = format!("{}/chat/completions", cfg.endpoint.trim_end_matches('/'));
    let client = reqwest::blocking::Client::builder()
        .timeout(wait)
        .connect_timeout(wait)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| (ErrorKind::Internal, format!("ai client: {e}")))?;
    let body = ChatRequest {
        model: &cfg.model,
        messages: vec![
            Message {
                role: "system",
                content: system,
            },
            Message {
                role: "user",
                content: prompt,
            },
        ],
        temperature: 0.0,
    };
    let mut req = client.post(&url).json(&body);
    if let Some(k) = &cfg.api_key {
        req = req.bearer_auth(k);
    }
    let resp = req.send().map_err(|e| {
        if e.is_timeout() {
            (
                ErrorKind::Timeout,
                format!(
                    "the AI endpoint did not answer within {} ms",
                    wait.as_millis()
                ),
            )
        } else {
            (
                ErrorKind::Runtime,
                format!(
                    "cannot reach the AI endpoint {}: {}",
                    cfg.endpoint,
                    crate::net::chain(&e)
                ),
            )
        }
    })?;
    let status = resp.status();
    let mut buf = Vec::new();
    resp.take(cap as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| (ErrorKind::Runtime, format!("reading the AI answer: {e}")))?;
    if buf.len() > cap {
        return Err((
            ErrorKind::Limit,
            format!("the AI answer is over the {cap} byte limit"),
        ));
    }
    if !status.is_success() {
        let text = String::from_utf8_lossy(&buf);
        let short: String = text.chars().take(200).collect();
        return Err((
            ErrorKind::Runtime,
            format!("the AI endpoint answered {status}: {short}"),
        ));
    }
    let parsed: ChatResponse = serde_json::from_slice(&buf).map_err(|e| {
        (
            ErrorKind::Runtime,
            format!("the AI endpoint's answer is not an OpenAI-style chat completion: {e}"),
        )
    })?;
    parsed
        .choices
        .into_iter()
        .next()
        .and_then(|c| c.message.content)
        .ok_or_else(|| (ErrorKind::Runtime, "the AI answer has no text".to_string()))
}

/// Ask the model; `None` when a dry run recorded the question instead.
fn call(system: &str, prompt: &str) -> HostResult<Option<String>> {
    need("ai:use")?;
    // What a script tells the outside world comes after its writes.
    crate::host::settle()?;
    if prompt.len() > MAX_PROMPT {
        return Err(fail(
            ErrorKind::Limit,
            format!(
                "ai: the prompt is {} bytes; the limit is {MAX_PROMPT}",
                prompt.len()
            ),
        ));
    }
    let asked = with_inv(|inv| {
        if inv.requests >= inv.limits.max_requests {
            return Err(fail(
                ErrorKind::Limit,
                format!(
                    "this invocation has made {} requests, the most it may",
                    inv.requests
                ),
            ));
        }
        inv.requests += 1;
        // A dry run records the question unless the user chose to ask.
        if inv.ctx.services.rehearsal.is_some_and(|r| !r.include_ai) {
            inv.recorded.push(crate::sandbox::RecordedRequest {
                method: "AI".into(),
                url: "ai".into(),
                body: Some(format!("{system}\n\n{prompt}")),
            });
            return Ok(None);
        }
        let cfg = inv.ctx.services.ai.clone().ok_or_else(|| {
            fail(
                ErrorKind::Runtime,
                "no AI endpoint is configured in this profile's settings",
            )
        })?;
        let left = inv.deadline.saturating_duration_since(Instant::now());
        Ok(Some((
            cfg,
            left.min(inv.limits.request_timeout),
            inv.limits.max_response,
        )))
    })?;
    let Some((cfg, wait, cap)) = asked else {
        return Ok(None);
    };
    if wait.is_zero() {
        return Err(fail(ErrorKind::Timeout, "no time left for an AI request"));
    }
    complete(&cfg, system, prompt, wait, cap)
        .map(Some)
        .map_err(|(k, m)| fail(k, m))
}

/// Register the `ai` module.
pub(crate) fn register(engine: &mut Engine) {
    let mut m = Module::new();
    FuncRegistration::new("complete")
        .with_volatility(true)
        .with_params_info(["prompt: &str", "String"])
        .with_comments([
            "/// Ask the configured language model; returns its answer as text. Needs ai:use.",
        ])
        .set_into_module(&mut m, |prompt: &str| -> HostResult<String> {
            Ok(call(
                "You are a concise assistant inside an insurance CRM.",
                prompt,
            )?
            .unwrap_or_else(|| "(dry run: the AI was not asked)".to_string()))
        });
    FuncRegistration::new("classify")
        .with_volatility(true)
        .with_params_info(["text: &str", "labels: Array", "String"])
        .with_comments(["/// Ask the model which one of `labels` fits `text`; returns that label exactly (an error if the model answers something else). Needs ai:use."])
        .set_into_module(&mut m, |text: &str, labels: Array| -> HostResult<String> {
            let labels: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
            if labels.is_empty() {
                return Err(fail(ErrorKind::Runtime, "ai::classify needs at least one label"));
            }
            let system = format!(
                "Classify the user's text. Answer with exactly one of these labels and nothing else: {}",
                labels.join(", ")
            );
            if system.len() + text.len() > MAX_PROMPT {
                return Err(fail(
                    ErrorKind::Limit,
                    format!("ai::classify: text and labels are over the {MAX_PROMPT} byte limit"),
                ));
            }
            // In a dry run that does not ask, the first label stands in.
            let Some(answer) = call(&system, text)? else {
                return Ok(labels[0].clone());
            };
            let a = answer.trim().trim_matches(|c: char| c == '"' || c == '.' || c == '\'');
            labels
                .iter()
                .find(|l| l.eq_ignore_ascii_case(a))
                .cloned()
                .ok_or_else(|| {
                    fail(
                        ErrorKind::Runtime,
                        format!("the model answered {a:?}, which is not one of: {}", labels.join(", ")),
                    )
                })
        });
    engine.register_static_module("ai", m.into());
}

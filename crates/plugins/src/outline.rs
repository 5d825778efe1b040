//! A script's outline for editors: parsed by the sandbox's own engine (so
//! an editor shows exactly the errors a run would meet), nothing run.

use crate::sandbox::Sandbox;

/// The first syntax error of a script, where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// What is wrong.
    pub message: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
}

/// A function a script defines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptFn {
    /// Its name.
    pub name: String,
    /// How many parameters it takes.
    pub params: usize,
}

impl Sandbox {
    /// The functions `source` defines, or its first syntax error. Rhai
    /// stops at the first error, so that is all an editor can show.
    pub fn outline(&self, source: &str) -> Result<Vec<ScriptFn>, SyntaxError> {
        if source.len() > self.limits().max_source {
            return Err(SyntaxError {
                message: format!(
                    "script is {} bytes; the limit is {}",
                    source.len(),
                    self.limits().max_source
                ),
                line: None,
                column: None,
            });
        }
        match self.engine().compile(source) {
            Ok(ast) => Ok(ast
                .iter_functions()
                .map(|f| ScriptFn {
                    name: f.name.to_string(),
                    params: f.params.len(),
                })
                .collect()),
            Err(e) => {
                let pos = e.position();
                Err(SyntaxError {
                    message: crate::text::message(&e.err_type().to_string()),
                    line: pos.line(),
                    column: pos.position(),
                })
            }
        }
    }
}

//! `topolint lsp`: a Language Server over stdio. Editors get the diagnostics of the whole
//! workspace topology as the user types, hover on nodes and rule codes, and go to definition.
//!
//! The transport is `lsp-server`, rust-analyzer's own: a synchronous loop over a channel of
//! messages, with the Content-Length framing and the initialize/shutdown handshake done, and
//! nothing else. A lint takes milliseconds, so an async runtime (tower-lsp and its tokio) would
//! add threads, dependencies and ordering questions and buy nothing; and the crate is kept up
//! with rust-analyzer, its main user. `lsp-types` gives the protocol's types.
//!
//! The loop never dies on a document: the loader turns any text into T-coded diagnostics by
//! design, and every handler runs under `catch_unwind` anyway, so a bug costs one answer (an
//! error response, logged to stderr), not the editor's server.

mod convert;
mod navigate;
pub mod uri;
mod workspace;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types as lsp;
use lsp_types::notification::Notification as _;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use workspace::Workspace;

/// Logs to stderr, which editors keep as the server's log (stdout carries the protocol).
pub(crate) fn log(message: &str) {
    eprintln!("topolint lsp: {message}");
}

/// Runs the server on stdin and stdout until the client says `exit`. Returns the process's exit
/// code: 0 after `shutdown` then `exit`, 1 when the client exits without a shutdown or goes away.
pub fn run() -> u8 {
    let (connection, io_threads) = Connection::stdio();
    let code = match serve(&connection) {
        Ok(code) => code,
        Err(e) => {
            log(&e);
            return 1;
        }
    };
    // Dropping the connection lets the writer flush and end; the reader ended at `exit`.
    drop(connection);
    if let Err(e) = io_threads.join() {
        log(&format!("i/o: {e}"));
    }
    code
}

/// The capabilities advertised: full text sync with open, close and save, hover, definition.
pub fn capabilities() -> lsp::ServerCapabilities {
    lsp::ServerCapabilities {
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Options(
            lsp::TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(lsp::TextDocumentSyncKind::FULL),
                save: Some(lsp::TextDocumentSyncSaveOptions::Supported(true)),
                ..Default::default()
            },
        )),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        definition_provider: Some(lsp::OneOf::Left(true)),
        ..Default::default()
    }
}

/// The workspace roots of an `initialize` request: its folders, else `rootUri`, else the
/// deprecated `rootPath`.
pub fn roots(params: &Value) -> Vec<PathBuf> {
    let folders: Vec<PathBuf> = params
        .get("workspaceFolders")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| uri::to_path(f.get("uri")?.as_str()?))
        .collect();
    if !folders.is_empty() {
        return folders;
    }
    if let Some(root) = params
        .get("rootUri")
        .and_then(Value::as_str)
        .and_then(uri::to_path)
    {
        return vec![root];
    }
    params
        .get("rootPath")
        .and_then(Value::as_str)
        .map(|p| vec![PathBuf::from(p)])
        .unwrap_or_default()
}

fn serve(connection: &Connection) -> Result<u8, String> {
    let (id, params) = connection
        .initialize_start()
        .map_err(|e| format!("initialize: {e}"))?;
    let result = serde_json::json!({
        "capabilities": capabilities(),
        "serverInfo": { "name": "topolint", "version": env!("CARGO_PKG_VERSION") },
    });
    send(connection, Response::new_ok(id, result).into())?;
    let roots = roots(&params);
    let mut server = Server {
        workspace: Workspace::new(roots),
        shut_down: false,
    };
    loop {
        // Changes are linted once the client has nothing more queued: a burst of keystrokes
        // costs one lint, not one per keystroke.
        let message = if server.workspace.is_dirty() {
            match connection.receiver.try_recv() {
                Ok(message) => message,
                Err(e) if e.is_empty() => {
                    server.publish(connection)?;
                    continue;
                }
                Err(_) => return Ok(1),
            }
        } else {
            match connection.receiver.recv() {
                Ok(message) => message,
                Err(_) => return Ok(1),
            }
        };
        match message {
            Message::Notification(n) if n.method == lsp::notification::Exit::METHOD => {
                return Ok(if server.shut_down { 0 } else { 1 });
            }
            Message::Request(request) => server.request(connection, request)?,
            Message::Notification(notification) => {
                let method = notification.method.clone();
                if catch_unwind(AssertUnwindSafe(|| server.notification(notification))).is_err() {
                    log(&format!(
                        "internal error while handling {method}; still serving"
                    ));
                }
            }
            Message::Response(_) => {}
        }
    }
}

fn send(connection: &Connection, message: Message) -> Result<(), String> {
    connection
        .sender
        .send(message)
        .map_err(|_| "the client's connection is closed".to_string())
}

fn to_value(value: impl serde::Serialize) -> Result<Value, String> {
    serde_json::to_value(value).map_err(|e| e.to_string())
}

fn params<P: DeserializeOwned>(value: Value) -> Result<P, String> {
    serde_json::from_value(value).map_err(|e| format!("invalid params: {e}"))
}

struct Server {
    workspace: Workspace,
    shut_down: bool,
}

impl Server {
    /// Lints and sends what changed. A panic in the lint is logged and the server goes on
    /// with the previous analysis.
    fn publish(&mut self, connection: &Connection) -> Result<(), String> {
        let Ok(published) = catch_unwind(AssertUnwindSafe(|| self.workspace.relint())) else {
            log("internal error while linting; still serving");
            return Ok(());
        };
        for notification in notifications(published) {
            send(connection, notification.into())?;
        }
        Ok(())
    }

    fn request(&mut self, connection: &Connection, request: Request) -> Result<(), String> {
        let id = request.id.clone();
        if self.shut_down {
            let response = Response::new_err(
                id,
                ErrorCode::InvalidRequest as i32,
                "the server is shut down".to_string(),
            );
            return send(connection, response.into());
        }
        // Questions are answered on the latest text.
        if self.workspace.is_dirty() {
            self.publish(connection)?;
        }
        let method = request.method.clone();
        let response = match catch_unwind(AssertUnwindSafe(|| self.answer(request))) {
            Ok(Ok(Some(result))) => Response::new_ok(id, result),
            Ok(Ok(None)) => Response::new_err(
                id,
                ErrorCode::MethodNotFound as i32,
                format!("unsupported request {method}"),
            ),
            Ok(Err(message)) => Response::new_err(id, ErrorCode::InvalidParams as i32, message),
            Err(_) => {
                log(&format!(
                    "internal error while answering {method}; still serving"
                ));
                Response::new_err(
                    id,
                    ErrorCode::InternalError as i32,
                    format!("internal error while answering {method}"),
                )
            }
        };
        send(connection, response.into())
    }

    /// The result of a request; `None` for methods the server does not know.
    fn answer(&mut self, request: Request) -> Result<Option<Value>, String> {
        use lsp::request::{GotoDefinition, HoverRequest, Request as _, Shutdown};
        Ok(Some(match request.method.as_str() {
            Shutdown::METHOD => {
                self.shut_down = true;
                Value::Null
            }
            HoverRequest::METHOD => {
                let p: lsp::HoverParams = params(request.params)?;
                to_value(navigate::hover(&self.workspace, &p))?
            }
            GotoDefinition::METHOD => {
                let p: lsp::GotoDefinitionParams = params(request.params)?;
                to_value(navigate::definition(&self.workspace, &p))?
            }
            _ => return Ok(None),
        }))
    }

    fn notification(&mut self, n: Notification) {
        use lsp::notification::*;
        let ws = &mut self.workspace;
        let result = match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                params(n.params).map(|p: lsp::DidOpenTextDocumentParams| {
                    let doc = p.text_document;
                    ws.open(&doc.uri, doc.version, doc.text);
                })
            }
            DidChangeTextDocument::METHOD => {
                params(n.params).map(|p: lsp::DidChangeTextDocumentParams| {
                    let doc = p.text_document;
                    ws.change(&doc.uri, doc.version, p.content_changes);
                })
            }
            DidSaveTextDocument::METHOD => {
                ws.saved();
                Ok(())
            }
            DidCloseTextDocument::METHOD => params(n.params)
                .map(|p: lsp::DidCloseTextDocumentParams| ws.close(&p.text_document.uri)),
            DidChangeWatchedFiles::METHOD => {
                ws.scan();
                Ok(())
            }
            DidChangeWorkspaceFolders::METHOD => {
                params(n.params).map(|p: lsp::DidChangeWorkspaceFoldersParams| {
                    let removed: Vec<PathBuf> = p
                        .event
                        .removed
                        .iter()
                        .filter_map(|f| uri::to_path(f.uri.as_str()))
                        .collect();
                    let mut roots: Vec<PathBuf> = ws
                        .roots()
                        .iter()
                        .filter(|r| !removed.contains(r))
                        .cloned()
                        .collect();
                    roots.extend(
                        p.event
                            .added
                            .iter()
                            .filter_map(|f| uri::to_path(f.uri.as_str())),
                    );
                    ws.set_roots(roots);
                })
            }
            // `initialized`, `$/cancelRequest`, `$/setTrace` and the like need nothing.
            _ => Ok(()),
        };
        if let Err(e) = result {
            log(&format!("{}: {e}", n.method));
        }
    }
}

/// The `textDocument/publishDiagnostics` notifications of a lint, ready to send.
pub fn notifications(published: Vec<lsp::PublishDiagnosticsParams>) -> Vec<Notification> {
    published
        .into_iter()
        .map(|p| Notification::new(lsp::notification::PublishDiagnostics::METHOD.to_string(), p))
        .collect()
}

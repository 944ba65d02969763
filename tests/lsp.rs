//! `topolint lsp` driven over stdio exactly as an editor drives it: Content-Length framed
//! JSON-RPC on the binary's stdin and stdout. Every wait has a deadline, so a server that hangs
//! fails the test instead of blocking it.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

/// An editor's side of the connection.
struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    incoming: Receiver<Value>,
    /// Notifications received while waiting for something else.
    queued: VecDeque<Value>,
    next_id: i64,
}

/// Reads one framed message; `None` at the end of the stream.
fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(n) = line.strip_prefix("Content-Length: ") {
            length = n.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length.expect("a Content-Length header")];
    reader.read_exact(&mut body).ok()?;
    Some(serde_json::from_slice(&body).expect("the server sends JSON"))
}

impl Client {
    /// Starts the server and initializes it with `root` as the workspace folder.
    fn start(root: &Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_topolint"))
            .arg("lsp")
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the binary starts");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, incoming) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_message(&mut reader) {
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        let mut client = Client {
            child,
            stdin,
            incoming,
            queued: VecDeque::new(),
            next_id: 1,
        };
        let result = client.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": uri(root),
                "workspaceFolders": [{ "uri": uri(root), "name": "test" }],
                "capabilities": {},
            }),
        );
        let caps = &result["capabilities"];
        assert_eq!(caps["textDocumentSync"]["change"], 1, "full sync: {caps}");
        assert_eq!(caps["hoverProvider"], true);
        assert_eq!(caps["definitionProvider"], true);
        client.notify("initialized", json!({}));
        client
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        let stdin = self.stdin.as_mut().expect("stdin open");
        write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("the server reads");
        stdin.flush().expect("the server reads");
    }

    fn receive(&mut self, deadline: Instant) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.incoming.recv_timeout(left) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => panic!("the server did not answer in {WAIT:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("the server closed its output"),
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// Sends a request and returns its whole response.
    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        let deadline = Instant::now() + WAIT;
        loop {
            let message = self.receive(deadline);
            if message.get("id") == Some(&json!(id)) && message.get("method").is_none() {
                return message;
            }
            self.queued.push_back(message);
        }
    }

    /// Sends a request and returns its result, failing on an error response.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let response = self.call(method, params);
        assert!(response.get("error").is_none(), "{method}: {response}");
        response["result"].clone()
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        let is_for = |m: &Value| {
            m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri
        };
        if let Some(at) = self.queued.iter().position(is_for) {
            let m = self.queued.remove(at).expect("found");
            return m["params"]["diagnostics"]
                .as_array()
                .cloned()
                .unwrap_or_default();
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let message = self.receive(deadline);
            if is_for(&message) {
                return message["params"]["diagnostics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
            }
            self.queued.push_back(message);
        }
    }

    fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "yaml", "version": 1, "text": text } }),
        );
    }

    fn change(&mut self, uri: &str, version: i32, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": uri, "version": version },
                "contentChanges": [{ "text": text }],
            }),
        );
    }

    fn hover(&mut self, uri: &str, line: u32, character: u32) -> Value {
        self.request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": character } }),
        )
    }

    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("waitable") {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `shutdown`, then `exit`: the server must end with code 0.
    fn shutdown(mut self) {
        assert_eq!(self.request("shutdown", Value::Null), Value::Null);
        self.notify("exit", Value::Null);
        drop(self.stdin.take());
        let status = self.wait();
        assert_eq!(status.code(), Some(0), "exit code after shutdown and exit");
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // A failed test must not leave the server running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

fn codes(diagnostics: &[Value]) -> Vec<&str> {
    diagnostics
        .iter()
        .map(|d| d["code"].as_str().unwrap_or("?"))
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("temp dir is writable");
    path
}

const ORDERS: &str = "topolint: 1
services:
  orders:
    owner: team-orders
    latency: { p50: 10ms, p99: 40ms }
    calls:
      - to: payments
        timeout: 200ms
        circuit_breaker: true
  payments:
    latency: { p50: 20ms, p99: 80ms }
";

const STOREFRONT_NO_TIMEOUT: &str = "topolint: 1
services:
  storefront:
    user_facing: true
    calls:
      - to: orders
        protocol: grpc
        circuit_breaker: true
";

const STOREFRONT: &str = "topolint: 1
services:
  storefront:
    user_facing: true
    calls:
      - to: orders
        protocol: grpc
        timeout: 300ms
        circuit_breaker: true
";

/// A workspace with `orders.topology.yaml` on disk, never opened.
fn workspace() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().canonicalize().expect("temp dir path");
    write(&root, "orders.topology.yaml", ORDERS);
    (dir, root)
}

#[test]
fn missing_timeout_is_shown_at_its_range_and_cleared_when_fixed() {
    let (_dir, root) = workspace();
    let mut client = Client::start(&root);
    let orders = uri(&root.join("orders.topology.yaml"));
    // The workspace's files are linted on start, opened or not.
    assert_eq!(client.diagnostics(&orders), Vec::<Value>::new());

    let storefront = uri(&root.join("storefront.topology.yaml"));
    client.open(&storefront, STOREFRONT_NO_TIMEOUT);
    let found = client.diagnostics(&storefront);
    // `orders` is defined in the unopened file: no T003, only the missing timeout.
    assert_eq!(codes(&found), ["S102"], "{found:#?}");
    let d = &found[0];
    assert_eq!(
        d["range"],
        json!({ "start": { "line": 5, "character": 8 }, "end": { "line": 7, "character": 29 } })
    );
    assert_eq!(d["severity"], 1);
    assert_eq!(d["source"], "topolint");
    let href = d["codeDescription"]["href"].as_str().unwrap_or_default();
    assert!(href.ends_with("/S102-missing-timeout.md"), "{href}");
    let message = d["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("call from storefront to orders has no timeout\nhelp: "),
        "{message}"
    );

    client.change(&storefront, 2, STOREFRONT);
    assert_eq!(client.diagnostics(&storefront), Vec::<Value>::new());
    client.shutdown();
}

#[test]
fn fixing_a_definition_in_one_file_clears_a_diagnostic_in_another() {
    let (_dir, root) = workspace();
    let mut client = Client::start(&root);
    let orders = uri(&root.join("orders.topology.yaml"));
    let storefront = uri(&root.join("storefront.topology.yaml"));
    client.open(
        &storefront,
        &STOREFRONT.replace("to: orders", "to: billing"),
    );
    let found = client.diagnostics(&storefront);
    assert_eq!(codes(&found), ["T003"], "{found:#?}");
    assert_eq!(
        found[0]["range"]["start"],
        json!({ "line": 5, "character": 12 })
    );

    // Defining `billing` in the other file resolves the reference in this one.
    client.open(&orders, ORDERS);
    client.change(
        &orders,
        2,
        &format!("{ORDERS}  billing:\n    latency: {{ p50: 5ms, p99: 20ms }}\n"),
    );
    assert_eq!(client.diagnostics(&storefront), Vec::<Value>::new());
    client.shutdown();
}

#[test]
fn a_save_picks_up_files_created_on_disk() {
    let (_dir, root) = workspace();
    let mut client = Client::start(&root);
    let storefront = uri(&root.join("storefront.topology.yaml"));
    let text = STOREFRONT.replace("to: orders", "to: billing");
    client.open(&storefront, &text);
    assert_eq!(codes(&client.diagnostics(&storefront)), ["T003"]);
    // A file created behind the editor's back (a checkout, a generator) counts after a save.
    let billing = write(
        &root,
        "billing.topology.yaml",
        "topolint: 1\nservices:\n  billing: {}\n",
    );
    client.notify(
        "textDocument/didSave",
        json!({ "textDocument": { "uri": storefront } }),
    );
    assert_eq!(client.diagnostics(&storefront), Vec::<Value>::new());
    assert_eq!(client.diagnostics(&uri(&billing)), Vec::<Value>::new());
    client.shutdown();
}

#[test]
fn the_settings_of_topolint_toml_apply_and_are_reread_on_save() {
    let (_dir, root) = workspace();
    write(
        &root,
        "topolint.toml",
        "[lint.severity]\nS102 = \"warning\"\n",
    );
    let mut client = Client::start(&root);
    let storefront = uri(&root.join("storefront.topology.yaml"));
    client.open(&storefront, STOREFRONT_NO_TIMEOUT);
    let found = client.diagnostics(&storefront);
    assert_eq!(codes(&found), ["S102"]);
    assert_eq!(found[0]["severity"], 2, "a warning, as configured");

    write(&root, "topolint.toml", "[lint]\nignore = [\"S102\"]\n");
    client.notify(
        "textDocument/didSave",
        json!({ "textDocument": { "uri": storefront } }),
    );
    assert_eq!(client.diagnostics(&storefront), Vec::<Value>::new());
    client.shutdown();
}

#[test]
fn half_typed_documents_give_load_diagnostics_and_the_server_keeps_serving() {
    let (_dir, root) = workspace();
    let mut client = Client::start(&root);
    let storefront = uri(&root.join("storefront.topology.yaml"));
    let typing = [
        (
            "topolint: 1\nservices:\n  storefront:\n    calls:\n      - to: [orders\n",
            "T001",
        ),
        (
            "topolint: 1\nservices:\n  storefront:\n    calls:\n      - to: orders\n        timeot: 1s\n",
            "T002",
        ),
        (
            "topolint: 1\nservices:\n  storefront:\n    calls: \"\n",
            "T001",
        ),
        ("\u{0}\u{1}", "T001"),
        (
            "topolint: 1\nservices:\n  storefront:\n    calls:\n      - to:\n",
            "T002",
        ),
    ];
    client.open(&storefront, typing[0].0);
    for (version, (text, code)) in typing.iter().enumerate() {
        if version > 0 {
            client.change(&storefront, version as i32 + 1, text);
        }
        let found = client.diagnostics(&storefront);
        assert!(
            codes(&found).contains(code),
            "{text:?} gives {code}: {found:#?}"
        );
        // Still answering questions.
        client.hover(&storefront, 2, 4);
    }
    client.change(&storefront, 10, STOREFRONT);
    assert_eq!(client.diagnostics(&storefront), Vec::<Value>::new());
    client.shutdown();
}

#[test]
fn hover_on_a_node_tells_what_the_graph_knows() {
    let (_dir, root) = workspace();
    write(
        &root,
        "platform.topology.yaml",
        "topolint: 1\nchannels:\n  order-events: { kind: topic }\ndatastores:\n  carts: { kind: redis }\n",
    );
    let mut client = Client::start(&root);
    let storefront = uri(&root.join("storefront.topology.yaml"));
    // The reference sits after a character of two UTF-16 units on the same line: positions
    // are UTF-16, as LSP counts them.
    let text = "topolint: 1\nservices:\n  storefront: { description: \"🛒 shop\", user_facing: true, calls: [{ to: orders, timeout: 300ms, circuit_breaker: true }],\n    publishes: [{ to: order-events }], writes: [carts] }\n";
    client.open(&storefront, text);
    client.diagnostics(&storefront);
    let line = text.lines().nth(2).expect("line 3");
    let byte = line.find("orders").expect("reference");
    let character = line[..byte].encode_utf16().count() as u32;
    let hover = client.hover(&storefront, 2, character + 2);
    let value = hover["contents"]["value"].as_str().unwrap_or_default();
    assert_eq!(hover["contents"]["kind"], "markdown");
    for expected in [
        "**service `orders`** · defined in `orders.topology.yaml`, line 3",
        "owner: `team-orders`",
        "- **called by**: `storefront`",
        "- **calls**: `payments`",
        "**longest synchronous chain through it** (2 calls): `storefront` → **`orders`** → `payments`",
    ] {
        assert!(value.contains(expected), "{expected:?} in {value}");
    }
    assert_eq!(
        hover["range"],
        json!({ "start": { "line": 2, "character": character }, "end": { "line": 2, "character": character + 6 } })
    );

    // On the definition too, with its channels and datastores.
    let value = client.hover(&storefront, 2, 4)["contents"]["value"].clone();
    let value = value.as_str().unwrap_or_default();
    for expected in [
        "**service `storefront`**",
        "- **publishes to**: `order-events`",
        "- **writes**: `carts`",
        "(2 calls): **`storefront`** → `orders` → `payments`",
    ] {
        assert!(value.contains(expected), "{expected:?} in {value}");
    }
    // On a channel, from another file.
    let value = client.hover(&storefront, 3, 24)["contents"]["value"].clone();
    let value = value.as_str().unwrap_or_default();
    for expected in [
        "**channel `order-events`** · defined in `platform.topology.yaml`, line 3",
        "- **published by**: `storefront`",
    ] {
        assert!(value.contains(expected), "{expected:?} in {value}");
    }
    // On nothing: no hover.
    assert_eq!(client.hover(&storefront, 0, 0), Value::Null);
    client.shutdown();
}

#[test]
fn hover_on_a_rule_code_shows_its_doc() {
    let (_dir, root) = workspace();
    let mut client = Client::start(&root);
    let storefront = uri(&root.join("storefront.topology.yaml"));
    let text = format!(
        "{STOREFRONT_NO_TIMEOUT}allow:\n  - rule: S102\n    reason: the storefront has its own deadline\n"
    );
    client.open(&storefront, &text);
    client.diagnostics(&storefront);
    let line = text
        .lines()
        .position(|l| l.contains("rule: S102"))
        .expect("allow") as u32;
    let hover = client.hover(&storefront, line, 12);
    let value = hover["contents"]["value"].as_str().unwrap_or_default();
    assert!(value.starts_with("# S102 missing-timeout"), "{value}");
    assert!(value.contains("## Example"), "{value}");

    // By name, in a comment.
    let text = format!("{STOREFRONT_NO_TIMEOUT}# see deep-sync-chain\n");
    client.change(&storefront, 2, &text);
    client.diagnostics(&storefront);
    let line = text.lines().count() as u32 - 1;
    let value = client.hover(&storefront, line, 10)["contents"]["value"].clone();
    assert!(
        value
            .as_str()
            .unwrap_or_default()
            .starts_with("# S101 deep-sync-chain"),
        "{value}"
    );

    // Inside a diagnostic's range but on no name: that rule's doc.
    let value = client.hover(&storefront, 6, 10)["contents"]["value"].clone();
    assert!(
        value
            .as_str()
            .unwrap_or_default()
            .starts_with("# S102 missing-timeout"),
        "{value}"
    );
    client.shutdown();
}

#[test]
fn go_to_definition_crosses_files() {
    let (_dir, root) = workspace();
    let mut client = Client::start(&root);
    let storefront = uri(&root.join("storefront.topology.yaml"));
    client.open(&storefront, STOREFRONT);
    client.diagnostics(&storefront);
    let location = client.request(
        "textDocument/definition",
        json!({ "textDocument": { "uri": storefront }, "position": { "line": 5, "character": 14 } }),
    );
    assert_eq!(
        location,
        json!({
            "uri": uri(&root.join("orders.topology.yaml")),
            "range": { "start": { "line": 2, "character": 2 }, "end": { "line": 2, "character": 8 } },
        })
    );
    // Within the other file: `payments` from its call.
    let orders = uri(&root.join("orders.topology.yaml"));
    let location = client.request(
        "textDocument/definition",
        json!({ "textDocument": { "uri": orders }, "position": { "line": 6, "character": 13 } }),
    );
    assert_eq!(
        location["range"]["start"],
        json!({ "line": 9, "character": 2 })
    );
    // Not on a name: no location.
    let none = client.request(
        "textDocument/definition",
        json!({ "textDocument": { "uri": storefront }, "position": { "line": 0, "character": 1 } }),
    );
    assert_eq!(none, Value::Null);
    client.shutdown();
}

#[test]
fn closing_an_unsaved_document_clears_its_diagnostics() {
    let (_dir, root) = workspace();
    let mut client = Client::start(&root);
    let scratch = uri(&root.join("scratch.topology.yaml"));
    client.open(&scratch, STOREFRONT_NO_TIMEOUT);
    assert_eq!(codes(&client.diagnostics(&scratch)), ["S102"]);
    client.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": scratch } }),
    );
    assert_eq!(client.diagnostics(&scratch), Vec::<Value>::new());
    // Files that are not topology files are left alone, and unknown requests get an error.
    client.open(&uri(&root.join("notes.yaml")), "a: [");
    let response = client.call("textDocument/completion", json!({}));
    assert_eq!(response["error"]["code"], -32601, "{response}");
    client.shutdown();
}

#[test]
fn exit_without_shutdown_is_code_1() {
    let (_dir, root) = workspace();
    let mut client = Client::start(&root);
    client.notify("exit", Value::Null);
    assert_eq!(client.wait().code(), Some(1));
}

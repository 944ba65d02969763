//! The `topolint` command line: parses arguments and calls the library.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use topolint::config::{Config, FailOn};
use topolint::diagnostic::RuleMeta;
use topolint::lints::RULES;
use topolint::load::{self, Limits};
use topolint::report::sarif::SourceRoot;
use topolint::report::{self, Format, Report};

#[derive(Parser)]
#[command(
    name = "topolint",
    version,
    about = "Lints microservice topologies: sync chains, timeouts, retries, queues, contracts"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lint the topology made of the given files and directories.
    Check(CheckArgs),
    /// List every rule: code, name, default severity, summary.
    Rules {
        #[arg(long, value_enum, default_value = "human")]
        format: ListFormat,
    },
    /// Print a rule's documentation (by code or name).
    Explain {
        /// A rule code (`S101`) or name (`deep-sync-chain`).
        rule: String,
    },
    /// Print the JSON Schema of the topology format.
    Schema,
    /// Draw the topology as Mermaid or Graphviz DOT, with the findings marked on it.
    Graph(GraphArgs),
    /// Advise, per edge, how the two sides should talk: sync, async, request-reply or cqrs-lite.
    Advise(AdviseArgs),
    /// Run the Language Server over stdio (for editors).
    Lsp,
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Human,
    Json,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Files and directories (searched for `*.topology.yaml`, `*.topology.yml`, `topology.yaml`).
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Write the report to a file (atomically) instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// The lowest severity that makes the run fail (exit code 1). Default: error.
    #[arg(long, value_enum)]
    fail_on: Option<FailOn>,
    /// Rules to run (codes, names or prefixes such as `S`), replacing the config's `select`.
    #[arg(long, value_delimiter = ',')]
    select: Option<Vec<String>>,
    /// Rules not to run, added to the config's `ignore`.
    #[arg(long, value_delimiter = ',')]
    ignore: Vec<String>,
    /// The settings file (default: the nearest `topolint.toml` upward from the working directory).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Report only findings not recorded in this baseline file (see `--write-baseline`).
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Record the current findings in FILE, by rule and node rather than by line; later runs with
    /// `--baseline FILE` report only new findings.
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,
    /// Print counts per rule after the report (on standard error for json, sarif and github, so
    /// that their output stays parseable).
    #[arg(long)]
    statistics: bool,
    /// Print the findings only, without the summary line.
    #[arg(long, short)]
    quiet: bool,
    /// Largest file read, in MiB.
    #[arg(long, default_value_t = Limits::default().max_file_size / (1024 * 1024))]
    max_file_size: u64,
    /// Deepest nesting of mappings and lists.
    #[arg(long, default_value_t = Limits::default().max_depth)]
    max_depth: usize,
    /// Most YAML nodes that aliases may expand to, per file.
    #[arg(long, default_value_t = Limits::default().max_alias_expansion)]
    max_alias_expansion: usize,
    /// Most named nodes in the topology.
    #[arg(long, default_value_t = Limits::default().max_nodes)]
    max_nodes: usize,
}

#[derive(clap::Args)]
struct GraphArgs {
    /// Files and directories (searched for `*.topology.yaml`, `*.topology.yml`, `topology.yaml`).
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Output format: a Mermaid flowchart, or Graphviz DOT (render with `dot -Tsvg`). Mermaid
    /// renderers refuse diagrams of more than 500 edges: for large systems use `--focus` or DOT.
    #[arg(long, value_enum, default_value = "mermaid")]
    format: topolint::draw::Format,
    /// Write the picture to a file (atomically) instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Draw only this node and its neighbourhood (edges followed both ways).
    #[arg(long, value_name = "NODE")]
    focus: Option<String>,
    /// How many edges away from `--focus` to draw.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "focus")]
    depth: usize,
    /// Group nodes in one subgraph (cluster) per team.
    #[arg(long, value_enum)]
    group_by: Option<topolint::draw::GroupBy>,
    /// The settings file (default: the nearest `topolint.toml` upward from the working directory).
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(clap::Args)]
struct AdviseArgs {
    /// Files and directories (searched for `*.topology.yaml`, `*.topology.yml`, `topology.yaml`).
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Only the edges from service FROM to node TO (needs or not), such as `storefront->orders`.
    #[arg(long, value_name = "FROM->TO")]
    edge: Option<String>,
    /// Output format: a table, JSON, or one architecture decision record per edge in markdown.
    #[arg(long, value_enum, default_value = "human")]
    format: topolint::advise::Format,
    /// Write the advice to a file (atomically) instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Also list the calls whose needs are all inferred and whose style already agrees.
    #[arg(long)]
    all: bool,
    /// The settings file (default: the nearest `topolint.toml` upward from the working directory).
    #[arg(long)]
    config: Option<PathBuf>,
}

/// A failure before any report: exit code 2 with a one-line message.
struct Fatal(String);

impl<E: std::fmt::Display> From<E> for Fatal {
    fn from(e: E) -> Fatal {
        Fatal(e.to_string())
    }
}

fn main() -> ExitCode {
    topolint::tune_allocator();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check(args),
        Command::Rules { format } => rules(format),
        Command::Explain { rule } => explain(&rule),
        Command::Schema => print(&topolint::schema::topology_schema_text()),
        Command::Graph(args) => graph(args),
        Command::Advise(args) => advise(args),
        Command::Lsp => Ok(ExitCode::from(topolint::lsp::run())),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "topolint",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(Fatal(message)) => {
            eprintln!("topolint: error: {message}");
            ExitCode::from(2)
        }
    }
}

fn print(text: &str) -> Result<ExitCode, Fatal> {
    emit(None, text)?;
    Ok(ExitCode::SUCCESS)
}

/// Loads the topology of `paths`; finding no topology file at all is an error.
fn load_topology(paths: &[PathBuf], limits: &Limits) -> Result<load::Loaded, Fatal> {
    let loaded = load::load_paths(paths, limits)?;
    if loaded.sources.files.is_empty() {
        let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Fatal(format!(
            "no topology files found in {} (looked for *.topology.yaml, *.topology.yml, topology.yaml)",
            paths.join(", ")
        )));
    }
    Ok(loaded)
}

/// Writes output to a file (atomically) or to standard output.
fn emit(output: Option<&Path>, text: &str) -> Result<(), Fatal> {
    emit_with(output, |out| out.write_all(text.as_bytes()))
}

/// Writes a report through `write`: to `output` atomically, or to standard output through a
/// buffer, where a closed pipe (`topolint rules | head`) is not an error worth reporting.
fn emit_with(
    output: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), Fatal> {
    match output {
        Some(path) => report::write_atomically_with(path, write)?,
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let _ = write(&mut out).and_then(|()| out.flush());
        }
    }
    Ok(())
}

fn load_config(path: Option<&Path>) -> Result<Config, Fatal> {
    let file = match path {
        Some(p) => Some(p.to_path_buf()),
        None => Config::find(&std::env::current_dir()?),
    };
    Ok(match file {
        Some(f) => Config::from_file(&f)?,
        None => Config::default(),
    })
}

fn check(args: CheckArgs) -> Result<ExitCode, Fatal> {
    let mut config = load_config(args.config.as_deref())?;
    config.override_with(args.select, args.ignore, args.fail_on)?;
    let limits = Limits {
        max_file_size: args.max_file_size.saturating_mul(1024 * 1024),
        max_depth: args.max_depth,
        max_alias_expansion: args.max_alias_expansion,
        max_nodes: args.max_nodes,
    };
    let mut loaded = load_topology(&args.paths, &limits)?;
    // Nothing reads the text of an ASCII file while the rules run, where memory peaks (31 MB at
    // 100k services): it is freed. Reports that show no source text (JSON, concise, GitHub) need
    // only positions; the others and baselines (keyed by text) read it from the file again
    // once the model is gone.
    let shows_text = matches!(args.format, Format::Human | Format::Sarif)
        || args.baseline.is_some()
        || args.write_baseline.is_some();
    for file in &mut loaded.sources.files {
        if shows_text {
            file.set_text_aside();
        } else {
            file.release_text();
        }
    }
    let mut analysis = topolint::analyze(loaded, &config.rules);
    if shows_text {
        analysis.release_model();
        for file in &mut analysis.loaded.sources.files {
            if let Err(problem) = file.restore_text() {
                eprintln!("topolint: {problem}: its findings are shown without source lines");
            }
        }
    }
    let notes = topolint::baseline::run(
        &mut analysis.diagnostics,
        &analysis.loaded.sources,
        args.baseline.as_deref(),
        args.write_baseline.as_deref(),
        |code| config.rules.is_enabled(code),
    )?;
    for note in notes {
        eprintln!("topolint: {note}");
    }
    let report = Report {
        sources: &analysis.loaded.sources,
        diagnostics: &analysis.diagnostics,
        suppressed: &analysis.suppressed,
    };
    let color = args.output.is_none()
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    let counts = args.statistics.then(|| report::statistics(&report));
    // Machine-read formats stay parseable: their counts go to standard error; the others end
    // with them.
    let read_by_people = matches!(args.format, Format::Human | Format::Concise);
    if let Some(counts) = counts.as_ref().filter(|_| !read_by_people) {
        eprint!("{counts}");
    }
    if matches!(args.format, Format::Json | Format::Sarif | Format::Human) {
        // The large reports, written as they are made rather than held whole in memory; the
        // human one ends with its summary line (unless `--quiet`) and the counts.
        emit_with(args.output.as_deref(), |out| match args.format {
            Format::Json => report::json::write(&report, out),
            Format::Sarif => report::sarif::write_with_root(&report, &SourceRoot::discover(), out),
            _ => {
                report::human::write(&report, color, report::human::WIDTH, !args.quiet, out)?;
                out.write_all(counts.as_deref().unwrap_or_default().as_bytes())
            }
        })?;
        return Ok(finish(analysis, &config));
    }
    let mut text = report::render(args.format, &report, color);
    if let Some(counts) = counts.filter(|_| read_by_people) {
        text.push_str(&counts);
    }
    emit(args.output.as_deref(), &text)?;
    std::mem::forget(text);
    Ok(finish(analysis, &config))
}

/// The exit code of `check`: 2 when the topology did not load, 1 when a finding fails the run.
fn finish(analysis: topolint::Analysis, config: &Config) -> ExitCode {
    let code = if analysis.has_load_errors() {
        2
    } else if analysis
        .diagnostics
        .iter()
        .any(|d| config.fail_on.fails(d.severity))
    {
        1
    } else {
        0
    };
    // The process ends here: freeing the model, graph and findings one allocation at a time
    // (a million of them for 100k services, some 60 ms) would only give the memory back to an
    // allocator that is about to disappear with the process.
    std::mem::forget(analysis);
    ExitCode::from(code)
}

fn graph(args: GraphArgs) -> Result<ExitCode, Fatal> {
    let config = load_config(args.config.as_deref())?;
    let loaded = load_topology(&args.paths, &Limits::default())?;
    let analysis = topolint::analyze(loaded, &config.rules);
    if analysis.has_load_errors() {
        let report = Report {
            sources: &analysis.loaded.sources,
            diagnostics: &analysis.diagnostics,
            suppressed: &analysis.suppressed,
        };
        eprint!("{}", report::render(Format::Concise, &report, false));
    }
    let options = topolint::draw::Options {
        format: args.format,
        focus: args.focus,
        depth: args.depth,
        group_by: args.group_by,
    };
    let text = topolint::draw::draw(&analysis, &options)?;
    emit(args.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

fn advise(args: AdviseArgs) -> Result<ExitCode, Fatal> {
    let config = load_config(args.config.as_deref())?;
    let loaded = load_topology(&args.paths, &Limits::default())?;
    if loaded.has_errors() {
        let report = Report {
            sources: &loaded.sources,
            diagnostics: &loaded.diagnostics,
            suppressed: &[],
        };
        eprint!("{}", report::render(Format::Concise, &report, false));
        return Err(Fatal(
            "the topology does not load; fix the problems above before asking for advice".into(),
        ));
    }
    let request = topolint::advise::Request {
        format: args.format,
        edge: args.edge,
        all: args.all,
        min_margin: config.rules.settings.min_advice_margin,
    };
    let text = topolint::advise::run(&loaded.model, &loaded.sources, &request)?;
    emit(args.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

fn rules(format: ListFormat) -> Result<ExitCode, Fatal> {
    let metas: Vec<&RuleMeta> = RULES.iter().map(|r| r.meta).collect();
    let text = match format {
        ListFormat::Human => {
            let mut out = String::new();
            for m in metas {
                out.push_str(&format!(
                    "{}  {:<30} {:<8} {}\n",
                    m.code, m.name, m.severity, m.summary
                ));
            }
            out
        }
        ListFormat::Json => {
            let list: Vec<_> = metas
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "code": m.code,
                        "name": m.name,
                        "severity": m.severity,
                        "summary": m.summary,
                        "url": topolint::docs::url(m),
                    })
                })
                .collect();
            format!("{}\n", serde_json::to_string_pretty(&list)?)
        }
    };
    print(&text)
}

fn explain(rule: &str) -> Result<ExitCode, Fatal> {
    let Some(found) = topolint::lints::find(rule) else {
        let hint = topolint::suggest::hint(rule, topolint::lints::all_names());
        return Err(Fatal(format!(
            "unknown rule `{rule}`{hint}; `topolint rules` lists them"
        )));
    };
    match topolint::docs::doc(found.meta) {
        Some(doc) => print(doc),
        None => Err(Fatal(format!("{} has no documentation", found.meta.code))),
    }
}

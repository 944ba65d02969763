//! The project's diagnostics and spans in LSP terms: 0-based lines, UTF-16 columns, severities,
//! codes with a link to the rule's doc.

use std::collections::HashMap;
use std::str::FromStr;

use lsp_types as lsp;

use crate::diagnostic::{Diagnostic, Severity};
use crate::source::{SourceFile, Sources, Span};

/// An LSP range from a byte span of `file`.
pub fn range(file: &SourceFile, span: Span) -> lsp::Range {
    lsp::Range {
        start: position(file, span.start),
        end: position(file, span.end),
    }
}

fn position(file: &SourceFile, offset: u32) -> lsp::Position {
    let p = file.position(offset);
    lsp::Position {
        line: p.line - 1,
        character: p.utf16 - 1,
    }
}

/// The byte offset of an LSP position (clamped to the text).
pub fn offset(file: &SourceFile, position: lsp::Position) -> usize {
    file.lines().offset_of_utf16(
        &file.text,
        position.line as usize,
        position.character as usize,
    )
}

fn severity(severity: Severity) -> lsp::DiagnosticSeverity {
    match severity {
        Severity::Error => lsp::DiagnosticSeverity::ERROR,
        Severity::Warning => lsp::DiagnosticSeverity::WARNING,
        Severity::Info => lsp::DiagnosticSeverity::INFORMATION,
    }
}

/// Converts diagnostics, given the URI of every file; rule links are parsed once per code.
pub struct Converter<'a> {
    pub sources: &'a Sources,
    pub uris: &'a [lsp::Uri],
    links: HashMap<&'static str, Option<lsp::CodeDescription>>,
}

impl<'a> Converter<'a> {
    pub fn new(sources: &'a Sources, uris: &'a [lsp::Uri]) -> Converter<'a> {
        Converter {
            sources,
            uris,
            links: HashMap::new(),
        }
    }

    fn link(&mut self, code: &'static str) -> Option<lsp::CodeDescription> {
        self.links
            .entry(code)
            .or_insert_with(|| {
                let rule = crate::lints::find(code)?;
                let href = lsp::Uri::from_str(&crate::docs::url(rule.meta)).ok()?;
                Some(lsp::CodeDescription { href })
            })
            .clone()
    }

    /// One diagnostic: the help goes on a second line of the message (editors show
    /// `relatedInformation` apart, and some not at all), related spans as related information.
    pub fn diagnostic(&mut self, d: &Diagnostic) -> lsp::Diagnostic {
        let file = self.sources.get(d.span.file);
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        let related: Vec<_> = d
            .related
            .iter()
            .filter_map(|r| {
                let uri = self.uris.get(r.span.file.index())?.clone();
                let range = range(self.sources.get(r.span.file), r.span);
                Some(lsp::DiagnosticRelatedInformation {
                    location: lsp::Location { uri, range },
                    message: r.label.clone(),
                })
            })
            .collect();
        lsp::Diagnostic {
            range: range(file, d.span),
            severity: Some(severity(d.severity)),
            code: Some(lsp::NumberOrString::String(d.code.to_string())),
            code_description: self.link(d.code),
            source: Some("topolint".to_string()),
            message,
            related_information: (!related.is_empty()).then_some(related),
            tags: None,
            data: None,
        }
    }
}

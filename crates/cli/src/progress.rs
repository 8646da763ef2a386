//! A spinner on stderr naming the current step, and the prover's current phase as it runs (read
//! from its `tracing` spans). Hidden with `--json` or when stderr is not a terminal.
//!
//! Its subscriber is this thread's own, so it also carries the timeline's layer: while a
//! timeline is recorded, this thread's spans reach it through here.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing::span;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

pub struct Progress {
    bar: ProgressBar,
    _guard: Option<tracing::subscriber::DefaultGuard>,
}

impl Progress {
    pub fn new(json: bool) -> Self {
        let bar = ProgressBar::new_spinner();
        if json || !std::io::stderr().is_terminal() {
            bar.set_draw_target(ProgressDrawTarget::hidden());
            return Self { bar, _guard: None };
        }
        if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(100));
        let subscriber = tracing_subscriber::registry()
            .with(SpanMessages { bar: bar.clone() })
            .with(rstark_timeline::layer());
        let guard = tracing::subscriber::set_default(subscriber);
        Self {
            bar,
            _guard: Some(guard),
        }
    }

    pub fn step(&self, msg: impl Into<String>) {
        self.bar.set_prefix(msg.into());
        self.bar.set_message(self.bar.prefix());
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// Shows "<step>: <phase>" whenever one of rstark's phases is entered on this thread.
struct SpanMessages {
    bar: ProgressBar,
}

/// A phase's label, kept with its span.
struct Label(String);

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for SpanMessages {
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        // Only rstark's phases; the tables' and libraries' inner spans would flicker.
        let meta = attrs.metadata();
        if meta.target().starts_with("rstark")
            && meta.name() == "phase"
            && let (Some(label), Some(span)) = (rstark_timeline::span_label(attrs), ctx.span(id))
        {
            span.extensions_mut().insert(Label(label));
        }
    }

    fn on_enter(&self, id: &span::Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(Label(label)) = span.extensions().get::<Label>()
        {
            self.bar
                .set_message(format!("{}: {label}", self.bar.prefix()));
        }
    }
}

//! The table the suite prints: one row per figure, beside its floor and its target.

#[derive(Debug, Clone)]
pub struct Row {
    pub figure: String,
    pub value: String,
    pub floor: String,
    pub ratio: String,
    pub target: String,
    /// Whether the target is met; `None` where the figure has no target.
    pub met: Option<bool>,
}

impl Row {
    pub fn new(figure: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            figure: figure.into(),
            value: value.into(),
            floor: "–".into(),
            ratio: "–".into(),
            target: "–".into(),
            met: None,
        }
    }

    pub fn floor(mut self, floor: impl Into<String>, ratio: Option<f64>) -> Self {
        self.floor = floor.into();
        if let Some(r) = ratio.filter(|r| r.is_finite()) {
            self.ratio = format!("{r:.2}×");
        }
        self
    }

    pub fn target(mut self, target: impl Into<String>, met: bool) -> Self {
        self.target = target.into();
        self.met = Some(met);
        self
    }

    /// A scenario that failed: its error in place of a figure.
    pub fn failed(figure: impl Into<String>, error: &anyhow::Error) -> Self {
        Self::new(figure, format!("FAILED: {error:#}")).target("–", false)
    }
}

/// The rows as a Markdown table (readable in a terminal, pasteable into the docs).
pub fn render(rows: &[Row]) -> String {
    let mut out = String::from(
        "| figure | Steward | floor | ratio | target | met |\n|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "",
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            r.figure, r.value, r.floor, r.ratio, r.target, met
        ));
    }
    out
}

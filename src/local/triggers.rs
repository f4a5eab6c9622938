//! `actionflow triggers`: the catalog of triggers, as a table or as JSON.

use actionflow_runtime::TRIGGERS;
use std::io::IsTerminal;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct TriggersArgs {
    /// Print JSON even on a terminal.
    #[arg(long)]
    json: bool,
}

pub fn main(args: &TriggersArgs) -> anyhow::Result<ExitCode> {
    if args.json || !std::io::stdout().is_terminal() {
        println!("{}", serde_json::to_string_pretty(TRIGGERS)?);
        return Ok(ExitCode::SUCCESS);
    }
    for t in TRIGGERS {
        let delivery = serde_json::to_value(t.delivery)?;
        println!(
            "{:<24} {:<6} {}",
            t.id,
            delivery.as_str().unwrap_or_default(),
            t.handler
        );
        println!("{:<31} api: {}", "", t.api_methods.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

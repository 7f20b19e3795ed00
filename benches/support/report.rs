//! The printed report of one backend's run: the table of every row with its ratio and the
//! service's peak memory while it ran, the service's idle and peak memory, the hostile load, and
//! the allocators side by side.

use std::time::Duration;

use crate::measure::Measure;
use crate::scenarios::hostile::Hostile;
use crate::{AllocatorRun, Measured, QUIET, Row, Run};

/// The p99 the issue sets for a row, if it sets one.
fn p99_target(row: Row) -> Option<Duration> {
    match row {
        Row::OwnerLists | Row::EmployerReads | Row::ComplianceCheck => {
            Some(Duration::from_millis(10))
        }
        Row::XapiSingle => Some(Duration::from_millis(20)),
        _ => None,
    }
}

/// "p99 target ≤ N ms: met" (or missed), for the rows with a latency target.
fn latency_note(row: Row, m: &Measure) -> Option<String> {
    p99_target(row).map(|target| {
        let verdict = if m.p99 <= target { "met" } else { "missed" };
        format!("p99 target ≤ {} ms: {verdict}", target.as_millis())
    })
}

/// What a row's rate is compared with: the framework ceiling, or the rows it names; with the
/// issue's targets where it sets them.
fn ratio(backend: &str, row: Row, m: &Measure, results: &[Measured]) -> String {
    let rate = |of: Row| {
        results
            .iter()
            .find(|r| r.row == of)
            .map(|r| r.measure.rate)
            .expect("every row is measured")
    };
    let percent = |of: Row| 100.0 * m.rate / rate(of);
    let ceiling = rate(Row::FrameworkCeiling);
    let text = match row {
        Row::FrameworkCeiling => "framework ceiling".to_owned(),
        Row::OwnerLists => format!(
            "{:.0}% of framework, {:.0}% of direct query",
            100.0 * m.rate / ceiling,
            percent(Row::OwnerListDirect)
        ),
        Row::EmployerReads if backend == "sqlite" => format!(
            "{:.0}% of its read-only ceiling, {:.0}% of the owner-list direct ceiling \
             (target ≥ 50% on SQLite)",
            percent(Row::EmployerReadDirect),
            percent(Row::OwnerListDirect)
        ),
        Row::EmployerReads => format!(
            "{:.0}% of its read-only ceiling (target ≥ 70% on PostgreSQL)",
            percent(Row::EmployerReadDirect)
        ),
        Row::Worklist => "one query per table per page, whatever its size".to_owned(),
        Row::PushCompletions | Row::XapiIngestion => {
            format!("{:.0}% of the raw insert rate", percent(Row::RawInsert))
        }
        Row::RawInsert => format!(
            "database ceiling: {:.1}× the push",
            m.rate / rate(Row::PushCompletions)
        ),
        Row::TokenIssuance => format!(
            "{:.1}% of framework (a verified secret is remembered for a minute)",
            100.0 * m.rate / ceiling
        ),
        Row::Webhook => "end to end: commit, worker woken, signed, sent, answered".to_owned(),
        Row::XapiSingle => "one statement to a POST".to_owned(),
        Row::OwnerListDirect | Row::EmployerReadDirect | Row::ComplianceCheck => {
            format!("{:.0}% of framework", 100.0 * m.rate / ceiling)
        }
    };
    match latency_note(row, m) {
        Some(note) => format!("{text}; {note}"),
        None => text,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub fn print_run(run: &Run) {
    let memory = &run.memory;
    println!(
        "\n{}: the service's resident memory (VmRSS) {:.0} MiB idle after start-up, {:.0} MiB \
         after {} quiet seconds at the end; its peak (VmHWM) over the run {:.0} MiB",
        run.backend,
        memory.idle_start,
        memory.idle_end,
        QUIET.as_secs(),
        memory.peak
    );
    println!("| scenario | rate | p50 ms | p99 ms | peak MiB | ratio |");
    println!("| --- | ---: | ---: | ---: | ---: | --- |");
    for measured in &run.results {
        let m = &measured.measure;
        println!(
            "| {} | {:.0} {} | {:.1} | {:.1} | {:.0} | {} |",
            m.name,
            m.rate,
            m.unit,
            ms(m.p50),
            ms(m.p99),
            measured.peak,
            ratio(run.backend, measured.row, m, &run.results)
        );
    }
    print_hostile(&run.hostile, run.hostile_peak);
    print_allocators(run.backend, &run.allocators);
}

fn print_hostile(hostile: &Hostile, peak: f64) {
    let f = &hostile.flood;
    println!("\nhostile load (same run; the service's peak while it ran: {peak:.0} MiB):");
    println!("| scenario | rate | p50 ms | p99 ms | note |");
    println!("| --- | ---: | ---: | ---: | --- |");
    for (m, note) in [
        (&f.quiet, "quiet".to_owned()),
        (
            &f.flooded,
            format!(
                "p99 {:.1}× the quiet p99; {} answers not 200",
                f.flooded.p99.as_secs_f64() / f.quiet.p99.as_secs_f64().max(1e-9),
                f.employer_failures
            ),
        ),
        (
            &f.flood,
            format!("answered {:?} (status: count)", f.flood_statuses),
        ),
        (&hostile.refused_existing, "refused: no grant".to_owned()),
        (
            &hostile.refused_made_up,
            format!(
                "median {:.2}× that of a person who exists",
                hostile.refused_made_up.p50.as_secs_f64()
                    / hostile.refused_existing.p50.as_secs_f64().max(1e-9)
            ),
        ),
    ] {
        println!(
            "| {} | {:.0} {} | {:.2} | {:.2} | {} |",
            m.name,
            m.rate,
            m.unit,
            ms(m.p50),
            ms(m.p99),
            note
        );
    }
}

/// The allocator rows of each allocator side by side: rate, p99 and peak of each.
fn print_allocators(backend: &str, runs: &[AllocatorRun]) {
    let Some(first) = runs.first() else {
        return;
    };
    println!(
        "\n{backend}, global allocators side by side (`PASSPORT_ALLOCATOR`, the default first; \
         each on a freshly started service, twice, in the order A B B A: the mean rate and p99 \
         of both rounds, the higher memory figure):"
    );
    let names: Vec<&str> = runs.iter().map(|r| r.allocator.name()).collect();
    let mut header = "| scenario |".to_owned();
    let mut rule = "| --- |".to_owned();
    for name in &names {
        header += &format!(" {name} rate | {name} p99 ms | {name} peak MiB |");
        rule += " ---: | ---: | ---: |";
    }
    println!("{header}\n{rule}");
    let memory_row = |label: &str, value: fn(&AllocatorRun) -> f64| {
        let cells: String = runs
            .iter()
            .map(|r| format!(" | | {:.0} |", value(r)))
            .collect();
        println!("| {label} |{cells}");
    };
    memory_row("idle after start-up (VmRSS)", |r| r.memory.idle_start);
    for (i, measured) in first.results.iter().enumerate() {
        let mut line = format!("| {} |", measured.measure.name);
        for run in runs {
            let r = &run.results[i];
            let m = &r.measure;
            line += &format!(
                " {:.0} {} | {:.1} | {:.0} |",
                m.rate,
                m.unit,
                ms(m.p99),
                r.peak
            );
        }
        println!("{line}");
    }
    memory_row(
        &format!("idle after {} quiet seconds (VmRSS)", QUIET.as_secs()),
        |r| r.memory.idle_end,
    );
    memory_row("peak over these rows (VmHWM)", |r| r.memory.peak);
}

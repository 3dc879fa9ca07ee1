// Package engine is ferry's core: it turns a workspace's Starlark files into
// a graph of rules and runs the rules whose inputs changed. It knows no
// domain (no Docker, no deploy target): domains plug in as Plugins.
//
// # The model
//
// Data flows one way:
//
//	ferry.star ─► evaluate ─► rules ─► graph ─► keys vs state ─► scheduler ─► Rule.Run
//	                                                                            │
//	                              sinks (console, JSON, reports, /metrics) ◄─ events
//
// Step by step:
//
//   - Evaluate executes the workspace's main file (found by FindWorkspace)
//     and the modules it loads, with the builtins of the plugins. Evaluation
//     only declares: it has no effects beyond reading files, and it records
//     every file, listing and environment variable it read. Builtins
//     declare Rules with Evaluation.AddRule.
//   - NewGraph checks the rules' deps (unknown names, cycles, outputs
//     written twice); Graph.Select picks the rules a command asks for, with
//     their deps, and profiles (Graph.EnableProfiles) widen the default set.
//   - A rule's key hashes its definition, the contents of its inputs and
//     its deps' keys (a secret's value only as a keyed HMAC). A rule runs when
//     its key differs from the key of its last success, kept in the State
//     under .ferry (written atomically, guarded by a workspace Lock); the
//     reasons (which input changed) are what `ferry plan` shows.
//   - The scheduler (Engine.Run) runs the out-of-date rules in dependency
//     order, in parallel up to a bound, with timeouts, retries and
//     cancellation, and saves the state as rules succeed.
//   - Everything that happens is an Event on a Bus, which hands it to its
//     sinks. NewBus takes a redactor and a bus cannot be made without one:
//     every sink only ever sees events with the secret values removed.
//
// A Session holds the steps a command takes: Open finds the workspace and
// its project, Session.Load evaluates it and checks the graph, and
// Loaded.Plan and Loaded.Run plan or run rules under the workspace lock.
//
// # What plugins register
//
// A Plugin contributes Builtins (Starlark functions, each documented by its
// Params, from which `ferry doc` and the reference are generated). Builtins
// declare rules of the plugin's kinds: any type implementing Rule, and
// optionally Observer (the result lives outside the workspace), Linker
// (deps follow from other rules), Watchable (the rule decides which changed
// paths concern it) or SecretUser. A plugin holds no per-evaluation state:
// a StatePlugin makes a fresh state for each evaluation, which its builtins
// reach with StateOf and commands with EvaluationState; a GraphChecker (the
// plugin or its state) checks the graph once every rule is declared.
//
// Packages below engine provide the sinks and helpers that know no domain
// either: console (log lines and the status view), cireport (JUnit and
// SARIF), exporter (Prometheus /metrics), redact (the redactor) and watch
// (the file watcher).
package engine

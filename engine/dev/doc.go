// Package dev is ferry's dev loop, the engine of `ferry watch`: it runs the
// selected rules, then reruns the ones each batch of changed files concerns,
// until its context ends.
//
// One turn of the loop:
//
//  1. A Source (engine/watch, or a fake in tests) delivers a batch of
//     changed workspace-relative paths, already debounced.
//  2. The declared outputs of rules are dropped from it: a rule writing
//     them is no reason to run anything.
//  3. If the batch touches a file the last evaluation read (ferry.star, a
//     loaded module, a file read while evaluating), changes what a glob
//     listed, or holds a .star file while the last evaluation failed, the
//     workspace is evaluated again (Loop.Load). A good evaluation replaces
//     the rules, and the key check finds what to run; a failed one is
//     logged and the previous rules stay until the next save.
//  4. Otherwise the rules to run are those the graph says the batch
//     affects (engine.Graph.Affected): the selected rules with an input
//     among the paths and the selected rules that depend on them. Manual
//     rules (trigger = "manual") run only when triggered.
//  5. While no run is in progress, a run starts at once. During a run,
//     the batch is queued (batches merge); if it touches a rule the run
//     has started, with inputs read before the change, and not finished,
//     the run is interrupted. When the run ends, one new run covers the
//     queued batches, and the rules of the interrupted run. So one rule
//     never runs twice at once, and a burst of changes costs at most one
//     run more than the one in progress.
//  6. After each run the Domain (deploy's services) resyncs what the run
//     deployed, and the state is saved in the background.
//
// Manual triggers (`ferry trigger RULE`, which SendTrigger sends on a unix
// socket, or Loop.Trigger from a status view) go through the same queue:
// they run at once when the loop is idle, after the run in progress
// otherwise, even when up to date.
//
// Domains plug in through Domain, so this package knows nothing of Docker:
// it selects a domain's rules, tells it of each evaluation and each run,
// and closes it when the loop ends.
package dev

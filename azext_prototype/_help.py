"""Help text and examples for every `az prototype` command and group."""

from __future__ import annotations

from knack.help_files import helps

helps["prototype"] = """
type: group
short-summary: Create and manage AI-assisted Azure prototype projects.
long-summary: |
    A prototype project is a folder holding prototype.yaml: the project's name, a random
    project id, the Azure region, the environment, the IaC tool and the AI provider and model.
    Each command records one usage event: the command, its parameters with values redacted,
    the outcome, the provider, model, region, the extension version, your Azure tenant id and
    the project id (TELEMETRY.md in the extension's source lists every field). Opt out with
    'az config set core.collect_telemetry=no' or DO_NOT_TRACK=1; 'az prototype telemetry'
    shows what waits to be sent.
"""

helps["prototype init"] = """
type: command
short-summary: Create a new prototype project folder with a fresh prototype.yaml.
long-summary: |
    Creates a folder named after --name inside --output-dir (which defaults to the current
    directory and is created if missing) and writes prototype.yaml with a new random project id.
    An existing project is never replaced unless --force is given.
examples:
  - name: Create a project in ./my-app for East US with the default provider and model.
    text: az prototype init --name my-app --location eastus
  - name: Use GitHub Models with a chosen model, Bicep and the staging environment.
    text: >
        az prototype init -n my-app -l westus3 --ai-provider github-models
        --model openai/gpt-4.1 --iac-tool bicep --environment staging
  - name: Create the project under ~/prototypes, replacing an existing prototype.yaml there.
    text: az prototype init -n my-app -l eastus --output-dir ~/prototypes --force
"""

helps["prototype status"] = """
type: command
short-summary: Show the project in the current directory (or --project-dir).
long-summary: Fails with a clear message outside a project folder.
examples:
  - name: Show the project in the current directory.
    text: az prototype status
  - name: Show another project as a table.
    text: az prototype status --project-dir ~/prototypes/my-app -o table
"""

helps["prototype config"] = """
type: group
short-summary: Read and change prototype.yaml with dotted keys such as ai.model.
"""

helps["prototype config show"] = """
type: command
short-summary: Show the whole project configuration.
examples:
  - name: Show the configuration as YAML-like key/value rows.
    text: az prototype config show -o table
  - name: Show the configuration of another project as JSON.
    text: az prototype config show --project-dir ~/prototypes/my-app
"""

helps["prototype config get"] = """
type: command
short-summary: Show one configuration value (or a whole section) by dotted key.
long-summary: An unknown key is an error that lists the keys the project has.
examples:
  - name: Print the model, for use in scripts.
    text: az prototype config get --key ai.model -o tsv
  - name: Show the project section.
    text: az prototype config get --key project
"""

helps["prototype config set"] = """
type: command
short-summary: Set one configuration value by dotted key.
long-summary: |
    The value is read as a YAML scalar: true/false, numbers and null get their type, anything
    else is stored as text. New keys and sections are created as needed. The keys 'init' writes
    are validated with the same rules; project.id cannot be changed.
examples:
  - name: Switch the AI model.
    text: az prototype config set --key ai.model --value gpt-4o-mini
  - name: Move the project to another region.
    text: az prototype config set -k project.location -v westeurope
  - name: Store a custom setting with a typed value.
    text: az prototype config set --key deploy.replicas --value 3
"""

helps["prototype telemetry"] = """
type: group
short-summary: Inspect and manage this extension's local telemetry spool (support tools).
long-summary: |
    Events wait in the prototype/telemetry folder of the az configuration directory
    (~/.azure, or AZURE_CONFIG_DIR) until the service accepts them.
    These commands show exactly what was and will be sent; they record no events themselves.
"""

helps["prototype telemetry status"] = """
type: command
short-summary: Show whether telemetry is on (and why), pending events and the last send attempt.
examples:
  - name: Show the telemetry status.
    text: az prototype telemetry status
  - name: Show it as a table.
    text: az prototype telemetry status -o table
"""

helps["prototype telemetry show"] = """
type: command
short-summary: Show the events waiting in the spool, exactly as they will be sent.
examples:
  - name: Show the five most recent pending events.
    text: az prototype telemetry show --last 5
  - name: Show only failed 'prototype init' events.
    text: az prototype telemetry show --command "prototype init" --failed
  - name: Include events the service rejected and unreadable files.
    text: az prototype telemetry show --all
"""

helps["prototype telemetry flush"] = """
type: command
short-summary: Send pending events now, in the foreground, ignoring any backoff.
long-summary: |
    Prints a progress line on stderr and returns the counts (sent, retried, rejected, quarantined).
    Fails (exit code 1) when events could not be delivered: the service is unreachable or asked
    to wait, telemetry is disabled, or a background sender is already running (see --wait).
examples:
  - name: Send pending events now and show what happened.
    text: az prototype telemetry flush
  - name: Let a running background sender finish first (at most 30 s), then flush.
    text: az prototype telemetry flush --wait
"""

helps["prototype telemetry purge"] = """
type: command
short-summary: Delete pending events without sending them.
examples:
  - name: Delete pending events without a prompt.
    text: az prototype telemetry purge --yes
  - name: Also delete rejected and quarantined files.
    text: az prototype telemetry purge --all --yes
"""

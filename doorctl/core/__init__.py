"""The controller: no Flask here. Blueprints call into core; core calls into hal."""

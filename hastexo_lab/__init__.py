"""hastexo_lab: on-demand per-learner OpenStack labs for Open edX courses."""

__version__ = "0.1.0"

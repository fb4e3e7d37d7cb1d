"""Running the services over a stream of market messages, and what a run produces.

:func:`run_reference` is the sequential oracle; every other deployment returns the same
:class:`PipelineResult` shape so that the bundle's summary and the oracle tests treat all of
them alike.
"""

from .config import PipelineConfig as PipelineConfig
from .reference import run_reference as run_reference
from .result import PipelineResult as PipelineResult
from .result import ProgressCallback as ProgressCallback

__all__ = ["PipelineConfig", "PipelineResult", "ProgressCallback", "run_reference"]

"""{{ description }}"""

from importlib.metadata import PackageNotFoundError, version

from my_package.core import word_frequencies

try:
    __version__ = version("{{ project_name }}")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = ["__version__", "word_frequencies"]

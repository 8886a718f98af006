"""`ddbstream up --watch`: redeploy what a save under lambda/ or infra/ changed, through `up`'s plan/apply."""

from ddbstream.watch.reload import DevLoop, Reload
from ddbstream.watch.watched import Watched, watched_of

__all__ = ["DevLoop", "Reload", "Watched", "watched_of"]

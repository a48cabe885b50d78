"""Feed the sandbox's price store.

    manage.py prices set NSE:SBIN=812.5 MCX:GOLDM05DEC24FUT=76250
    manage.py prices replay ticks.csv [--speed 10]
    manage.py prices simulate [--symbols NSE:SBIN=812.5 ...] [--seed 7] [--interval 1] [--steps 100]

replay reads tick rows (timestamp,exchange,symbol,ltp[,bid,ask,volume]) or bar rows
(timestamp,exchange,symbol,open,high,low,close[,volume]), told apart by the header.
"""
from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sandbox.services import feeds


class Command(BaseCommand):
    help = "Set, replay or simulate prices in the sandbox's price store (matching resting orders)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        set_ = sub.add_parser("set", help="Set last traded prices: EXCHANGE:SYMBOL=PRICE ...")
        set_.add_argument("prices", nargs="+", metavar="EXCHANGE:SYMBOL=PRICE")
        replay = sub.add_parser("replay", help="Replay a CSV of ticks or bars.")
        replay.add_argument("file")
        replay.add_argument("--speed", type=float, default=0.0,
                            help="Replay speed against the file's timestamps (2 = twice as fast); 0 = no waiting.")
        sim = sub.add_parser("simulate", help="A seeded random walk, until Ctrl-C or --steps.")
        sim.add_argument("--symbols", nargs="+", metavar="EXCHANGE:SYMBOL[=START]",
                         help="Default: settings.SANDBOX['SIMULATE_SYMBOLS'].")
        sim.add_argument("--seed", type=int, default=None)
        sim.add_argument("--interval", type=float, default=None, help="Seconds between steps.")
        sim.add_argument("--steps", type=int, default=None, help="Stop after this many steps.")
        sim.add_argument("--volatility-bps", type=float, default=10.0, help="Step size, basis points (σ).")

    def handle(self, *args, action: str, **options) -> None:
        self.verbosity = options["verbosity"]
        try:
            getattr(self, f"_{action}")(**options)
        except feeds.FeedError as exc:
            raise CommandError(str(exc)) from None

    def _set(self, prices: list[str], **_) -> None:
        specs = [feeds.parse_symbol_price(item, require_price=True) for item in prices]  # all checked first
        for exchange, symbol, _ in specs:
            feeds.check_known(exchange, symbol)
        for exchange, symbol, price in specs:
            quote = feeds.store(exchange, symbol, price)
            self.stdout.write(f"{exchange}:{symbol} = {quote.ltp}")

    def _replay(self, file: str, speed: float, **_) -> None:
        from tqdm import tqdm

        rows = feeds.read_replay(file)
        count = 0
        with tqdm(total=len(rows), unit="row", disable=not self.stdout.isatty()) as bar:
            for row in feeds.replay(rows, speed=speed):
                count += 1
                bar.update(1)
                bar.set_postfix_str(f"{row.exchange}:{row.symbol} {row.ltp}", refresh=False)
        self.stdout.write(f"Replayed {count} rows from {file}.")

    def _simulate(self, symbols: list[str] | None, seed: int | None, interval: float | None, steps: int | None,
                  volatility_bps: float, **_) -> None:
        # The configured demo symbols resume from their stored prices; explicit --symbols start afresh.
        walk = feeds.RandomWalk(symbols or settings.SANDBOX["SIMULATE_SYMBOLS"], seed=seed,
                                volatility_bps=volatility_bps, resume=not symbols)
        interval = settings.SANDBOX["SIMULATE_INTERVAL"] if interval is None else interval
        self.stdout.write(f"Simulating {', '.join(walk.names)} (seed {walk.seed}); Ctrl-C stops.")
        done = 0
        try:
            while steps is None or done < steps:
                quotes = walk.step()
                done += 1
                if self.verbosity > 1:
                    self.stdout.write(" ".join(f"{q.exchange}:{q.symbol}={q.ltp}" for q in quotes))
                if steps is None or done < steps:
                    time.sleep(interval)
        except KeyboardInterrupt:
            pass
        self.stdout.write(f"Simulated {done} steps.")

"""The local emulator daemon: moto plus our stream engine, ESM engine and Lambda runtime."""

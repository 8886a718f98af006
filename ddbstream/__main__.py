from ddbstream.cli import main

main()

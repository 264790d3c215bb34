from carpool.cli.main import main

main()

from feelback.cli import main

main()

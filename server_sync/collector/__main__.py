from server_sync.collector.cli import main

main()

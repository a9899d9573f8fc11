from naftiko_gen.cli import main

main()
